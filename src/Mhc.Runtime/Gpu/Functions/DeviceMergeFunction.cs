using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Gpu.Functions;

/// <summary>
/// Res-mix, post-mix and the residual add in one pass on the tensors' device: reads x and F(h) once,
/// writes the output once. Arguments: (x [..., n, C], hRes [..., n, n], hPost [..., n], f [..., C]).
/// </summary>
internal sealed class DeviceMergeFunction : SingleTensorFunction<DeviceMergeFunction>
{
    public override string Name => "MhcDeviceMerge";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var (x, res, post, f) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        ctx.save_for_backward([x, res, post, f]);
        var output = empty_like(x);
        using var launch = new DeviceLaunch(x);
        launch.Kernels.Merge(DeviceLaunch.Sizes(x), launch[x], launch[res], launch[post], launch[f], launch[output]);
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        var saved = ctx.get_saved_variables();
        var (x, res, post, f) = (saved[0], saved[1], saved[2], saved[3]);
        var gradX = empty_like(x);
        var gradRes = empty_like(res);
        var gradPost = empty_like(post);
        var gradF = empty_like(f);
        using (var launch = new DeviceLaunch(x))
        {
            var grad = launch.GradientOrZeros(gradOutput, gradOutput.shape);
            launch.Kernels.MergeBackward(DeviceLaunch.Sizes(x), launch[x], launch[res], launch[post], launch[f],
                launch[grad], launch[gradX], launch[gradRes], launch[gradPost], launch[gradF]);
        }
        return [gradX, gradRes, gradPost, gradF];
    }
}
