using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Gpu.Functions;

/// <summary>
/// Sinkhorn on the tensors' device: the graph keeps only the logits, and the backward kernel recomputes
/// the iterations. Arguments: (logits [..., n, n], iterations).
/// </summary>
internal sealed class DeviceSinkhornFunction : SingleTensorFunction<DeviceSinkhornFunction>
{
    public override string Name => "MhcDeviceSinkhorn";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var (logits, iterations) = ((Tensor)vars[0], (int)vars[1]);
        var output = empty_like(logits);
        using (var launch = new DeviceLaunch(logits))
            launch.Kernels.Sinkhorn(DeviceLaunch.Sizes(logits, iterations), launch[logits], launch[output]);
        ctx.save_data(nameof(iterations), iterations);
        ctx.save_for_backward([logits]);
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        int iterations = (int)ctx.get_data(nameof(iterations));
        var logits = ctx.get_saved_variables()[0];
        var sizes = DeviceLaunch.Sizes(logits, iterations);
        var gradLogits = empty_like(logits);
        using (var launch = new DeviceLaunch(logits))
        {
            var scratch = launch.Scratch(DeviceKernels.SinkhornScratchLength(sizes));
            var grad = launch.GradientOrZeros(gradOutput, logits.shape);
            launch.Kernels.SinkhornBackward(sizes, launch[logits], launch[grad], launch[gradLogits], launch[scratch]);
        }
        return [gradLogits, null!];
    }
}
