using Mhc.Runtime.Diagnostics;
using Mhc.Runtime.Recompute;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Everything an mHC connection computes before its branch, as one autograd node: coefficients, Sinkhorn
/// and pre-mix. Arguments: (x [..., n, C], phi [nC, m], bias [m], alpha [3], rmsEps, iterations, the
/// <see cref="ConnectionConvention"/>, the <see cref="StreamLink"/> argument of a recompute segment, and the
/// merge's hand-over or a placeholder), all
/// tensors contiguous. Outputs the branch input h [..., C], H_post [..., n] and the matrix the merge applies
/// [..., n, n]: H_res, or H_resᵀ under the conventions that mix with the transpose, so that the merge needs no
/// transposed copy. The backward has one pass over x for ∂x: the coefficients' gq·φᵀ from BLAS, then the RMS
/// norm's, the pre-mix's and, given a <see cref="DeferredStreamGradient"/> (ninth argument), the merge's terms
/// added in place: one ∂x per connection, where autograd used to add four (three ops and the merge).
/// It keeps what the three ops' nodes kept: x (unless a segment supplies it), φ, bias, α, each token's p
/// and r, H_pre and the logits (Sinkhorn's iterations are recomputed from them).
/// </summary>
internal sealed class MixFunction : MultiTensorFunction<MixFunction>
{
    public override string Name => "MhcFusedMix";

    private const string EpsilonKey = "rms-eps", IterationsKey = "iterations", ConventionKey = "convention", DeferredKey = "deferred";

    /// <summary>The outputs of one mix, and the intermediate values its backward keeps.</summary>
    internal sealed record Result(Tensor Input, Tensor Post, Tensor Mix, Tensor Pre, Tensor Logits, Tensor Stats) : IDisposable
    {
        public void Dispose()
        {
            foreach (var tensor in new[] { Input, Post, Mix, Pre, Logits, Stats })
                tensor.Dispose();
        }
    }

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        using var timed = ConnectionTimings.Time(TimedPart.MixForward);
        var (x, phi, bias, alpha) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        double eps = (double)vars[4];
        int iterations = (int)vars[5];
        var convention = (ConnectionConvention)vars[6];
        ctx.save_data(EpsilonKey, eps);
        ctx.save_data(IterationsKey, iterations);
        ctx.save_data(ConventionKey, convention);
        ctx.save_data(DeferredKey, vars[8]);
        // The caller may leave an output unused (H_post of a branch whose output is dropped); its gradient is then undefined.
        ctx.set_materialize_grads(false);

        var result = Compute(x, phi, bias, alpha, eps, iterations, convention);
        var link = StreamLinks.Borrowing(ctx, vars, 7);
        Tensor[] kept = [phi, bias, alpha, result.Stats, result.Pre, result.Logits];
        ctx.save_for_backward(link is null ? [x, .. kept] : [.. kept]);
        return [result.Input, result.Post, result.Mix];
    }

    /// <summary>The mix without autograd (what runs under no_grad), with the values only a backward needs.</summary>
    internal static Result Compute(Tensor x, Tensor phi, Tensor bias, Tensor alpha, double eps, int iterations, ConnectionConvention convention)
    {
        // The coefficients kernel makes h too, in its pass over x.
        var (pre, post, logits, stats, input) = CoefficientsFunction.Compute(x, phi, bias, alpha, eps, convention, withInput: true);
        var hRes = SinkhornFunction.Compute(logits, iterations, convention.SinkhornFromSoftmax());
        if (convention.TransposesResidualMix())
        {
            using var view = hRes.transpose(-1, -2);
            var transposed = view.contiguous();
            hRes.Dispose();
            hRes = transposed;
        }
        return new Result(input!, post, hRes, pre, logits, stats);
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        using var timed = ConnectionTimings.TimeBackward(TimedPart.MixBackward, BackwardNode.Mix);
        GradientHandles.ReleaseReturned();
        Tensor gradX, gradPhi, gradBias, gradAlpha;
        var borrowed = StreamLinks.BorrowInput(ctx, out var link);
        double eps = (double)ctx.get_data(EpsilonKey);
        int iterations = (int)ctx.get_data(IterationsKey);
        var convention = (ConnectionConvention)ctx.get_data(ConventionKey);
        using (NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            if (borrowed is not null) saved.Insert(0, borrowed);
            var (x, phi, bias, alpha, stats, pre, logits) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6]);
            var gradH = Defined(gradOutputs[0]);
            var gradPost = Defined(gradOutputs[1]);
            var gradMix = Defined(gradOutputs[2]);

            Tensor? gradLogits = null;
            if (gradMix is not null)
            {
                var gradRes = convention.TransposesResidualMix() ? gradMix.transpose(-1, -2).contiguous() : gradMix;
                gradLogits = SinkhornFunction.Gradient(logits, gradRes, iterations, convention.SinkhornFromSoftmax());
            }
            var gradPre = gradH is null ? null : PreMixFunction.WeightGradient(x, gradH);
            var chain = CoefficientsFunction.Chain(x, bias, alpha, stats, eps, convention, gradPre, gradPost, gradLogits);
            gradBias = chain.GradBias.MoveToOuterDisposeScope();
            gradAlpha = chain.GradAlpha.MoveToOuterDisposeScope();
            gradPhi = CoefficientsFunction.PhiGradient(x, chain.Gq).MoveToOuterDisposeScope();
            using (ConnectionTimings.Time(TimedPart.CoefficientGemms))
                gradX = chain.Gq.mm(phi.t()).view_as(x);
            var (gradMerged, mix) = (ctx.get_data(DeferredKey) as DeferredStreamGradient)?.Take() ?? (null, null);
            using (gradMerged)
            using (mix)
                PreMixFunction.AddInputGradient(x, pre, chain.Scale, gradH, mix, gradMerged, gradX);
            gradX = gradX.MoveToOuterDisposeScope();
            link?.Release();
        }
        GradientHandles.ReleaseIncoming([.. gradOutputs]);
        return GradientHandles.HandOver(gradX, gradPhi, gradBias, gradAlpha, null, null, null, null, null);
    }

    private static Tensor? Defined(Tensor? gradient) => gradient is { IsInvalid: false } g ? g.contiguous() : null;
}
