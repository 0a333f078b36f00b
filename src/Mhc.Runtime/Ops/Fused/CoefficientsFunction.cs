using System.Numerics;
using Mhc.Runtime.Kernels;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused mHC coefficients. Arguments: (x [..., n, C], phi [nC, m], bias [m], alpha [3], rmsEps), all
/// contiguous. Outputs H_pre [..., n], H_post [..., n], H_res logits [..., n, n]. Each token's p and r
/// are saved beside the inputs ([tokens, m + 1], tiny next to x) so the backward needs no second pass
/// of v·φ.
/// </summary>
internal sealed class CoefficientsFunction : MultiTensorFunction<CoefficientsFunction>
{
    public override string Name => "MhcFusedCoefficients";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, phi, bias, alpha) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        double eps = (double)vars[4];
        // Callers often use only some of the three outputs; their missing gradients arrive undefined.
        ctx.set_materialize_grads(false);

        long n = x.shape[^2];
        var shape = ShapeOf(x);
        var pre = empty(OpsArguments.Leading(x, 2, n), dtype: x.dtype);
        var post = empty(OpsArguments.Leading(x, 2, n), dtype: x.dtype);
        var res = empty(OpsArguments.Leading(x, 2, n, n), dtype: x.dtype);
        var stats = empty([shape.Tokens, shape.StatsPerToken], dtype: x.dtype);
        Tensor[] all = [x, phi, bias, alpha, pre, post, res, stats];
        if (x.dtype == ScalarType.Float32)
            Forward<float>(all, (float)eps);
        else
            Forward<double>(all, eps);
        ctx.save_for_backward([x, phi, bias, alpha, stats]);
        return [pre, post, res];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        Tensor gradX, gradPhi, gradBias, gradAlpha;
        using (NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            gradX = empty_like(saved[0]).MoveToOuterDisposeScope();
            gradPhi = empty_like(saved[1]).MoveToOuterDisposeScope();
            gradBias = empty_like(saved[2]).MoveToOuterDisposeScope();
            gradAlpha = empty_like(saved[3]).MoveToOuterDisposeScope();
            var grads = new Tensor?[3];
            for (int i = 0; i < 3; i++)
                grads[i] = gradOutputs[i] is { IsInvalid: false } g ? g.contiguous() : null;
            var outputs = new[] { gradX, gradPhi, gradBias, gradAlpha };
            if (saved[0].dtype == ScalarType.Float32)
                Backward<float>([.. saved], grads, outputs);
            else
                Backward<double>([.. saved], grads, outputs);
        }
        return [gradX, gradPhi, gradBias, gradAlpha, null!];
    }

    private static CoefficientsShape ShapeOf(Tensor x) => new(OpsArguments.Tokens(x, 2), (int)x.shape[^2], (int)x.shape[^1]);

    /// <param name="t">x, phi, bias, alpha, then the outputs pre, post, res and the saved stats.</param>
    /// <param name="eps">The RMS norm's ε.</param>
    private static unsafe void Forward<T>(Tensor[] t, T eps) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = ShapeOf(t[0]);
        using var phiT = TransposedPhi<T>(t[1], shape);
        CoefficientsKernel<T>.Forward(shape, TensorMemory.Pointer<T>(t[0]), phiT.Pointer, TensorMemory.Pointer<T>(t[2]),
            TensorMemory.Pointer<T>(t[3]), eps, TensorMemory.Pointer<T>(t[4]), TensorMemory.Pointer<T>(t[5]),
            TensorMemory.Pointer<T>(t[6]), TensorMemory.Pointer<T>(t[7]));
    }

    /// <param name="saved">x, phi, bias, alpha and the stats from the forward.</param>
    /// <param name="grads">Gradients of H_pre, H_post and the H_res logits; null where none arrived.</param>
    /// <param name="outputs">Gradients of x, phi, bias, alpha, written here.</param>
    private static unsafe void Backward<T>(Tensor[] saved, Tensor?[] grads, Tensor[] outputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = ShapeOf(saved[0]);
        using var phiT = TransposedPhi<T>(saved[1], shape);
        CoefficientsKernel<T>.Backward(shape, TensorMemory.Pointer<T>(saved[0]), phiT.Pointer, TensorMemory.Pointer<T>(saved[2]),
            TensorMemory.Pointer<T>(saved[3]), TensorMemory.Pointer<T>(saved[4]),
            OptionalPointer<T>(grads[0]), OptionalPointer<T>(grads[1]), OptionalPointer<T>(grads[2]),
            TensorMemory.Pointer<T>(outputs[0]), TensorMemory.Pointer<T>(outputs[1]),
            TensorMemory.Pointer<T>(outputs[2]), TensorMemory.Pointer<T>(outputs[3]));
    }

    private static unsafe ScratchArray<T> TransposedPhi<T>(Tensor phi, CoefficientsShape shape)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var phiT = new ScratchArray<T>(CoefficientsKernel<T>.TransposedLength(shape));
        CoefficientsKernel<T>.Transpose(TensorMemory.Pointer<T>(phi), shape, phiT.Pointer);
        return phiT;
    }

    private static unsafe T* OptionalPointer<T>(Tensor? tensor) where T : unmanaged
        => tensor is null ? null : TensorMemory.Pointer<T>(tensor);
}
