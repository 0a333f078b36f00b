using System.Numerics;
using Mhc.Runtime.Kernels;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused mHC coefficients. Arguments: (x [..., n, C], phi [nC, m], bias [m], alpha [3], rmsEps), all
/// contiguous. Outputs H_pre [..., n], H_post [..., n], H_res logits [..., n, n]. Each token's p and r
/// are kept (a managed array in the context, m + 1 values a token) so the backward needs no second
/// pass of v·φ.
/// </summary>
internal sealed class CoefficientsFunction : MultiTensorFunction<CoefficientsFunction>
{
    private const string StatsKey = "stats";

    public override string Name => "MhcFusedCoefficients";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, phi, bias, alpha) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        double eps = (double)vars[4];
        // Callers often use only some of the three outputs; their missing gradients arrive undefined.
        ctx.set_materialize_grads(false);
        ctx.save_for_backward([x, phi, bias, alpha]);

        long n = x.shape[^2];
        var pre = empty(OpsArguments.Leading(x, 2, n), dtype: x.dtype);
        var post = empty(OpsArguments.Leading(x, 2, n), dtype: x.dtype);
        var res = empty(OpsArguments.Leading(x, 2, n, n), dtype: x.dtype);
        object stats = x.dtype == ScalarType.Float32
            ? Forward<float>(x, phi, bias, alpha, (float)eps, pre, post, res)
            : Forward<double>(x, phi, bias, alpha, eps, pre, post, res);
        ctx.save_data(StatsKey, stats);
        return [pre, post, res];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        Tensor gradX, gradPhi, gradBias, gradAlpha;
        using (NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            var (x, phi, bias, alpha) = (saved[0], saved[1], saved[2], saved[3]);
            gradX = empty_like(x).MoveToOuterDisposeScope();
            gradPhi = empty_like(phi).MoveToOuterDisposeScope();
            gradBias = empty_like(bias).MoveToOuterDisposeScope();
            gradAlpha = empty_like(alpha).MoveToOuterDisposeScope();
            var grads = new Tensor?[3];
            for (int i = 0; i < 3; i++)
                grads[i] = gradOutputs[i] is { IsInvalid: false } g ? g.contiguous() : null;
            var inputs = new[] { x, phi, bias, alpha };
            var outputs = new[] { gradX, gradPhi, gradBias, gradAlpha };
            var stats = ctx.get_data(StatsKey);
            if (x.dtype == ScalarType.Float32)
                Backward(inputs, (float[])stats, grads, outputs);
            else
                Backward(inputs, (double[])stats, grads, outputs);
        }
        return [gradX, gradPhi, gradBias, gradAlpha, null!];
    }

    private static CoefficientsShape ShapeOf(Tensor x) => new(OpsArguments.Tokens(x, 2), (int)x.shape[^2], (int)x.shape[^1]);

    private static unsafe T[] Forward<T>(Tensor x, Tensor phi, Tensor bias, Tensor alpha, T eps, Tensor pre, Tensor post, Tensor res)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = ShapeOf(x);
        var phiT = CoefficientsKernel<T>.Transpose(TensorMemory.Pointer<T>(phi), shape.Width, shape.Projections);
        var stats = GC.AllocateUninitializedArray<T>(checked((int)(shape.Tokens * shape.StatsPerToken)), pinned: true);
        CoefficientsKernel<T>.Forward(shape, TensorMemory.Pointer<T>(x), phiT, TensorMemory.Pointer<T>(bias),
            TensorMemory.Pointer<T>(alpha), eps, TensorMemory.Pointer<T>(pre), TensorMemory.Pointer<T>(post),
            TensorMemory.Pointer<T>(res), stats);
        return stats;
    }

    /// <param name="inputs">x, phi, bias, alpha.</param>
    /// <param name="stats">Each token's p and r, from the forward.</param>
    /// <param name="grads">Gradients of H_pre, H_post and the H_res logits; null where none arrived.</param>
    /// <param name="outputs">Gradients of x, phi, bias, alpha, written here.</param>
    private static unsafe void Backward<T>(Tensor[] inputs, T[] stats, Tensor?[] grads, Tensor[] outputs)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = ShapeOf(inputs[0]);
        var phiT = CoefficientsKernel<T>.Transpose(TensorMemory.Pointer<T>(inputs[1]), shape.Width, shape.Projections);
        CoefficientsKernel<T>.Backward(shape, TensorMemory.Pointer<T>(inputs[0]), phiT, TensorMemory.Pointer<T>(inputs[2]),
            TensorMemory.Pointer<T>(inputs[3]), stats,
            OptionalPointer<T>(grads[0]), OptionalPointer<T>(grads[1]), OptionalPointer<T>(grads[2]),
            TensorMemory.Pointer<T>(outputs[0]), TensorMemory.Pointer<T>(outputs[1]),
            TensorMemory.Pointer<T>(outputs[2]), TensorMemory.Pointer<T>(outputs[3]));
    }

    private static unsafe T* OptionalPointer<T>(Tensor? tensor) where T : unmanaged
        => tensor is null ? null : TensorMemory.Pointer<T>(tensor);
}
