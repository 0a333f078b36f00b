using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Gpu.Functions;

/// <summary>Pre-mix h = Σ_i H_pre[i]·x[i] on the tensors' device. Arguments: (x [..., n, C], hPre [..., n]).</summary>
internal sealed class DevicePreMixFunction : SingleTensorFunction<DevicePreMixFunction>
{
    public override string Name => "MhcDevicePreMix";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var (x, pre) = ((Tensor)vars[0], (Tensor)vars[1]);
        ctx.save_for_backward([x, pre]);
        using var launch = new DeviceLaunch(x);
        var h = launch.Empty([.. x.shape[..^2], x.shape[^1]]);
        launch.Kernels.PreMix(DeviceLaunch.Sizes(x), launch[x], launch[pre], launch[h]);
        return h;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (x, pre) = (saved[0], saved[1]);
        var gradX = empty_like(x);
        var gradPre = empty_like(pre);
        using (var launch = new DeviceLaunch(x))
        {
            var grad = launch.GradientOrZeros(gradOutput, gradOutput.shape);
                launch.Kernels.PreMixBackward(DeviceLaunch.Sizes(x), launch[x], launch[pre], launch[grad], launch[gradX], launch[gradPre]);
        }
        return [gradX, gradPre];
    }
}
