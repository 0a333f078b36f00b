using Mhc.Runtime.Diagnostics;
using System.Numerics;
using Mhc.Runtime.Kernels;
using Mhc.Runtime.Recompute;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused mHC coefficients. Arguments: (x [..., n, C], phi [nC, m], bias [m], alpha [3], rmsEps), all
/// contiguous. Outputs H_pre [..., n], H_post [..., n], H_res logits [..., n, n]. Each token's p and r
/// (and its sigmoids) are saved beside the inputs ([tokens, m + 1 + 2n], tiny next to x) so the backward needs no second pass
/// of v·φ. The forward takes v·φ from BLAS and then one fused pass over v; the backward runs the per-token chain rule,
/// then one pass over x for ∂x and ∂φ with the products in registers (<see cref="MixFunction"/> runs the same passes
/// inside a connection's whole mix). An optional sixth argument, a <see cref="StreamLink"/>,
/// lets a recompute segment supply x in the backward instead of the graph keeping it; the seventh, a
/// <see cref="ConnectionConvention"/>, selects the formulas.
/// </summary>
internal sealed class CoefficientsFunction : MultiTensorFunction<CoefficientsFunction>
{
    public override string Name => "MhcFusedCoefficients";

    private const string EpsilonKey = "rms-eps", ConventionKey = "convention";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, phi, bias, alpha) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        double eps = (double)vars[4];
        var convention = (ConnectionConvention)vars[6];
        ctx.save_data(EpsilonKey, eps);
        ctx.save_data(ConventionKey, convention);
        // Callers often use only some of the three outputs; their missing gradients arrive undefined.
        ctx.set_materialize_grads(false);

        var (pre, post, res, stats, _) = Compute(x, phi, bias, alpha, eps, convention);
        var link = StreamLinks.Borrowing(ctx, vars, 5);
        ctx.save_for_backward(link is null ? [x, phi, bias, alpha, stats] : [phi, bias, alpha, stats]);
        return [pre, post, res];
    }

    /// <summary>
    /// The coefficients without autograd (what runs under no_grad), and each token's p and r, which only
    /// the backward needs. <paramref name="withInput"/>: the pre-mix h = Σ H_pre[i]·x[i,:] [..., C] too, made in the
    /// same pass over x (a connection's mix); otherwise Input is null.
    /// </summary>
    internal static (Tensor Pre, Tensor Post, Tensor ResLogits, Tensor Stats, Tensor? Input) Compute(Tensor x, Tensor phi, Tensor bias, Tensor alpha,
        double eps, ConnectionConvention convention, bool withInput = false)
    {
        long n = x.size(-2);
        var shape = ShapeOf(x);
        var pre = empty(OpsArguments.Leading(x, 2, n), dtype: x.dtype);
        var post = empty(OpsArguments.Leading(x, 2, n), dtype: x.dtype);
        var res = empty(OpsArguments.Leading(x, 2, n, n), dtype: x.dtype);
        var stats = empty([shape.Tokens, shape.StatsPerToken], dtype: x.dtype);
        var input = withInput ? empty(OpsArguments.Leading(x, 2, x.size(-1)), dtype: x.dtype) : null;
        using var timed = ConnectionTimings.Time(TimedPart.CoefficientsKernel);
        using var projections = Projections(x, phi);
        Tensor?[] all = [x, phi, bias, alpha, pre, post, res, stats, input, projections];
        if (x.dtype == ScalarType.Float32)
            Forward(all, Form<float>(eps, convention));
        else
            Forward(all, Form<double>(eps, convention));
        return (pre, post, res, stats, input);
    }

    /// <summary>
    /// Every token's v·φ [tokens, m] from libtorch's BLAS, for the coefficients kernel; null below
    /// <see cref="CoefficientsKernel{T}.RowMajorTokens"/>, where the kernel reads φ itself.
    /// </summary>
    internal static Tensor? Projections(Tensor x, Tensor phi)
    {
        var shape = ShapeOf(x);
        if (shape.Tokens < CoefficientsKernel<float>.RowMajorTokens
            || (x.dtype == ScalarType.Float32 && CoefficientsKernel<float>.ProjectsInTiles(shape)))
            return null;
        using var v = Rows(x);
        return v.mm(phi);
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        GradientHandles.ReleaseReturned();
        Tensor gradX, gradPhi, gradBias, gradAlpha;
        var borrowed = StreamLinks.BorrowInput(ctx, out var link);
        double eps = (double)ctx.get_data(EpsilonKey);
        var convention = (ConnectionConvention)ctx.get_data(ConventionKey);
        using (NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            if (borrowed is not null) saved.Insert(0, borrowed);
            var (x, phi, bias, alpha, stats) = (saved[0], saved[1], saved[2], saved[3], saved[4]);
            var grads = new Tensor?[3];
            for (int i = 0; i < 3; i++)
                grads[i] = gradOutputs[i] is { IsInvalid: false } g ? g.contiguous() : null;
            var chain = Chain(x, bias, alpha, stats, eps, convention, grads[0], grads[1], grads[2]);
            gradBias = chain.GradBias.MoveToOuterDisposeScope();
            gradAlpha = chain.GradAlpha.MoveToOuterDisposeScope();
            (gradX, gradPhi) = InputGradient(x, phi, chain);
            gradX = gradX.MoveToOuterDisposeScope();
            gradPhi = gradPhi.MoveToOuterDisposeScope();
            link?.Release();
        }
        GradientHandles.ReleaseIncoming([.. gradOutputs]);
        return GradientHandles.HandOver(gradX, gradPhi, gradBias, gradAlpha, null, null, null);
    }

    /// <summary>What the chain rule gives per token before the two products over all tokens.</summary>
    internal readonly record struct ChainResult(Tensor Gq, Tensor Scale, Tensor GradBias, Tensor GradAlpha);

    /// <summary>
    /// The per-token part of the coefficients' backward (the kernel's ChainToProjections):
    /// gq = ∂loss/∂(v·φ) [tokens, m], the factor of v in ∂loss/∂v [tokens, 1], and the bias and α gradients.
    /// Gradients that did not arrive are null. ∂v is then gq·φᵀ + scale·v and ∂φ = vᵀ·gq, both from <see cref="InputGradient"/>.
    /// </summary>
    internal static ChainResult Chain(Tensor x, Tensor bias, Tensor alpha, Tensor stats, double eps, ConnectionConvention convention,
        Tensor? gradPre, Tensor? gradPost, Tensor? gradRes)
    {
        var shape = ShapeOf(x);
        var result = new ChainResult(empty([shape.Tokens, shape.Projections], dtype: x.dtype), empty([shape.Tokens, 1], dtype: x.dtype),
            empty_like(bias), empty_like(alpha));
        Tensor[] buffers = [bias, alpha, stats, result.Gq, result.Scale, result.GradBias, result.GradAlpha];
        Tensor?[] grads = [gradPre, gradPost, gradRes];
        if (x.dtype == ScalarType.Float32)
            ChainToProjections(shape, Form<float>(eps, convention), buffers, grads);
        else
            ChainToProjections(shape, Form<double>(eps, convention), buffers, grads);
        return result;
    }

    /// <summary>
    /// ∂x and ∂φ from the chain rule's result in one pass over x (<see cref="InputGradientKernel{T}"/>): ∂x = gq·φᵀ +
    /// scale·x, plus the pre-mix's H_pre ⊗ dh given <paramref name="hPre"/> and <paramref name="gradInput"/>, plus the
    /// merge's Mᵀ·dy given <paramref name="mix"/> and <paramref name="gradMerged"/> (a connection's mix); ∂φ = vᵀ·gq.
    /// </summary>
    internal static (Tensor GradX, Tensor GradPhi) InputGradient(Tensor x, Tensor phi, ChainResult chain,
        Tensor? hPre = null, Tensor? gradInput = null, Tensor? mix = null, Tensor? gradMerged = null)
    {
        var gradX = empty_like(x);
        var gradPhi = empty_like(phi);
        using var timed = ConnectionTimings.Time(TimedPart.InputGradientKernel);
        Tensor?[] all = [x, chain.Gq, phi, chain.Scale, gradInput is null ? null : hPre, gradInput, gradMerged is null ? null : mix, gradMerged, gradX, gradPhi];
        if (x.dtype == ScalarType.Float32)
            InputGradient<float>(ShapeOf(x), all);
        else
            InputGradient<double>(ShapeOf(x), all);
        return (gradX, gradPhi);
    }

    /// <param name="t">x, gq, φ, scale, H_pre, dh, M, dy, then ∂x and ∂φ to write; null where a term is left out.</param>
    private static unsafe void InputGradient<T>(CoefficientsShape shape, Tensor?[] t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T* P(int i) => TensorMemory.OptionalPointer<T>(t[i]);
        InputGradientKernel<T>.Compute(new(shape, P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9)));
    }

    /// <summary>x as [tokens, nC], the v of every token.</summary>
    private static Tensor Rows(Tensor x)
    {
        var shape = ShapeOf(x);
        return x.view(shape.Tokens, shape.Width);
    }

    private static CoefficientsShape ShapeOf(Tensor x) => new(OpsArguments.Tokens(x, 2), (int)x.size(-2), (int)x.size(-1));

    internal static CoefficientsForm<T> Form<T>(double rmsEps, ConnectionConvention convention)
        where T : unmanaged, IFloatingPointIeee754<T>
        => new(T.CreateChecked(rmsEps), convention.RmsEpsilonOutsideRoot(), T.CreateChecked(convention.PreOffset()));

    /// <param name="t">x, phi, bias, alpha, then the outputs pre, post, res, the saved stats and the optional pre-mix, and the optional projections.</param>
    /// <param name="form">The RMS norm's ε and placement, and H_pre's offset.</param>
    private static unsafe void Forward<T>(Tensor?[] t, CoefficientsForm<T> form) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var shape = ShapeOf(t[0]!);
        T* x = TensorMemory.Pointer<T>(t[0]!), bias = TensorMemory.Pointer<T>(t[2]!), alpha = TensorMemory.Pointer<T>(t[3]!);
        T* pre = TensorMemory.Pointer<T>(t[4]!), post = TensorMemory.Pointer<T>(t[5]!), res = TensorMemory.Pointer<T>(t[6]!), stats = TensorMemory.Pointer<T>(t[7]!);
        CoefficientsKernel<T>.Compute(shape, x, TensorMemory.Pointer<T>(t[1]!), TensorMemory.OptionalPointer<T>(t[9]), bias, alpha, form,
            pre, post, res, stats, TensorMemory.OptionalPointer<T>(t[8]));
    }

    /// <param name="t">bias, alpha, the saved stats, then gq, scale, gradBias and gradAlpha to write.</param>
    /// <param name="grads">Gradients of H_pre, H_post and the H_res logits; null where none arrived.</param>
    private static unsafe void ChainToProjections<T>(CoefficientsShape shape, CoefficientsForm<T> form, Tensor[] t, Tensor?[] grads)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.CoefficientsBackwardKernel);
        CoefficientsKernel<T>.ChainToProjections(shape, form, TensorMemory.Pointer<T>(t[0]), TensorMemory.Pointer<T>(t[1]),
            TensorMemory.Pointer<T>(t[2]), TensorMemory.OptionalPointer<T>(grads[0]), TensorMemory.OptionalPointer<T>(grads[1]), TensorMemory.OptionalPointer<T>(grads[2]),
            TensorMemory.Pointer<T>(t[3]), TensorMemory.Pointer<T>(t[4]), TensorMemory.Pointer<T>(t[5]), TensorMemory.Pointer<T>(t[6]));
    }
}
