using Mhc.Runtime.Diagnostics;
using System.Numerics;
using Mhc.Runtime.Kernels;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused Sinkhorn–Knopp: saves only its input logits and recomputes the iterations in the backward
/// (paper §4.3). Arguments: (logits [..., n, n] contiguous, iterations, the <see cref="ConnectionConvention"/>:
/// MHC-SPEC's exp start ending on rows, or the softmax start with ε ending on columns of
/// <see cref="SoftmaxSinkhornKernel{T}"/>).
/// </summary>
internal sealed class SinkhornFunction : SingleTensorFunction<SinkhornFunction>
{
    public override string Name => "MhcFusedSinkhorn";

    private const string SoftmaxKey = "softmax-start";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var logits = (Tensor)vars[0];
        int iterations = (int)vars[1];
        bool softmax = ((ConnectionConvention)vars[2]).SinkhornFromSoftmax();
        ctx.save_for_backward([logits]);
        ctx.save_data(nameof(iterations), iterations);
        ctx.save_data(SoftmaxKey, softmax);
        return Compute(logits, iterations, softmax);
    }

    /// <summary>The projection without autograd (what runs under no_grad); <paramref name="softmax"/>: the softmax start.</summary>
    internal static Tensor Compute(Tensor logits, int iterations, bool softmax)
    {
        var output = empty_like(logits);
        if (logits.dtype == ScalarType.Float32)
            Forward<float>(logits, output, iterations, softmax);
        else
            Forward<double>(logits, output, iterations, softmax);
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        GradientHandles.ReleaseReturned();
        int iterations = (int)ctx.get_data(nameof(iterations));
        bool softmax = (bool)ctx.get_data(SoftmaxKey);
        Tensor gradLogits;
        using (NewDisposeScope())
        {
            var logits = ctx.get_saved_variables()[0];
            gradLogits = Gradient(logits, gradOutput.contiguous(), iterations, softmax).MoveToOuterDisposeScope();
        }
        GradientHandles.ReleaseIncoming(gradOutput);
        return GradientHandles.HandOver(gradLogits, null, null);
    }

    /// <summary>∂loss/∂logits from ∂loss/∂output (contiguous), the iterations recomputed from the logits.</summary>
    internal static Tensor Gradient(Tensor logits, Tensor gradOutput, int iterations, bool softmax)
    {
        var gradLogits = empty_like(logits);
        if (logits.dtype == ScalarType.Float32)
            Backward<float>(logits, gradOutput, gradLogits, iterations, softmax);
        else
            Backward<double>(logits, gradOutput, gradLogits, iterations, softmax);
        return gradLogits;
    }

    private static unsafe void Forward<T>(Tensor logits, Tensor output, int iterations, bool softmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.SinkhornKernel);
        int n = (int)logits.size(-1);
        long tokens = OpsArguments.Tokens(logits, 2);
        T* input = TensorMemory.Pointer<T>(logits), result = TensorMemory.Pointer<T>(output);
        if (softmax)
            SoftmaxSinkhornKernel<T>.Forward(input, result, tokens, n, iterations, T.CreateChecked(Conventions.Epsilon));
        else
            SinkhornKernel<T>.Forward(input, result, tokens, n, iterations);
    }

    private static unsafe void Backward<T>(Tensor logits, Tensor gradOutput, Tensor gradLogits, int iterations, bool softmax)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.SinkhornBackwardKernel);
        int n = (int)logits.size(-1);
        long tokens = OpsArguments.Tokens(logits, 2);
        T* input = TensorMemory.Pointer<T>(logits), g = TensorMemory.Pointer<T>(gradOutput), result = TensorMemory.Pointer<T>(gradLogits);
        if (softmax)
            SoftmaxSinkhornKernel<T>.Backward(input, g, result, tokens, n, iterations, T.CreateChecked(Conventions.Epsilon));
        else
            SinkhornKernel<T>.Backward(input, g, result, tokens, n, iterations);
    }
}
