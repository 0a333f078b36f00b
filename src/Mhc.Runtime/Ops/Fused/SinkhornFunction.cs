using System.Numerics;
using Mhc.Runtime.Kernels;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused Sinkhorn–Knopp: saves only its input logits and recomputes the iterations in the backward
/// (paper §4.3). Arguments: (logits [..., n, n] contiguous, iterations).
/// </summary>
internal sealed class SinkhornFunction : SingleTensorFunction<SinkhornFunction>
{
    public override string Name => "MhcFusedSinkhorn";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        int iterations = (int)vars[1];
        ctx.save_for_backward([logits]);
        ctx.save_data(nameof(iterations), iterations);
        return Compute(logits, iterations);
    }

    /// <summary>The projection without autograd (what runs under no_grad).</summary>
    internal static Tensor Compute(Tensor logits, int iterations)
    {
        var output = empty_like(logits);
        if (logits.dtype == ScalarType.Float32)
            Forward<float>(logits, output, iterations);
        else
            Forward<double>(logits, output, iterations);
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        GradientHandles.ReleaseReturned();
        int iterations = (int)ctx.get_data(nameof(iterations));
        Tensor gradLogits;
        using (NewDisposeScope())
        {
            var logits = ctx.get_saved_variables()[0];
            var grad = gradOutput.contiguous();
            gradLogits = empty_like(logits).MoveToOuterDisposeScope();
            if (logits.dtype == ScalarType.Float32)
                Backward<float>(logits, grad, gradLogits, iterations);
            else
                Backward<double>(logits, grad, gradLogits, iterations);
        }
        GradientHandles.ReleaseIncoming(gradOutput);
        return GradientHandles.HandOver(gradLogits, null);
    }

    private static unsafe void Forward<T>(Tensor logits, Tensor output, int iterations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = (int)logits.shape[^1];
        SinkhornKernel<T>.Forward(TensorMemory.Pointer<T>(logits), TensorMemory.Pointer<T>(output),
            OpsArguments.Tokens(logits, 2), n, iterations);
    }

    private static unsafe void Backward<T>(Tensor logits, Tensor gradOutput, Tensor gradLogits, int iterations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = (int)logits.shape[^1];
        SinkhornKernel<T>.Backward(TensorMemory.Pointer<T>(logits), TensorMemory.Pointer<T>(gradOutput),
            TensorMemory.Pointer<T>(gradLogits), OpsArguments.Tokens(logits, 2), n, iterations);
    }
}
