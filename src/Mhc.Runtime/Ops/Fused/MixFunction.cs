using System.Numerics;
using Mhc.Runtime.Kernels;
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
/// connection's <see cref="DeferredStreamGradient"/>), all tensors contiguous. Outputs the branch input h [..., C] and
/// H_post [..., n]; the matrix the merge applies [..., n, n] (H_res, or H_resᵀ under the conventions that mix with the
/// transpose, so that the merge needs no transposed copy) goes to the merge through the hand-over, since its gradient
/// never leaves the connection. The backward is one pass over x (<see cref="MixBackwardKernel{T}"/>): the merge's ∂M and
/// ∂x terms, ∂H_pre, Sinkhorn's backward, the chain rule, and ∂x and ∂φ with the products in registers, a block of tokens
/// at a time: one ∂x per connection, where autograd used to add four (three ops and the merge).
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
        // M's gradient never leaves the connection (the merge hands ∂out to this node's backward), so M is no output of the
        // node: an output without a gradient would arrive in the backward as an undefined tensor, whose wrapper TorchSharp
        // leaves on the caller's dispose scope.
        ((DeferredStreamGradient)vars[8]).HoldMix(result.Mix);
        return [result.Input, result.Post];
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
            var (gradMerged, mix) = (ctx.get_data(DeferredKey) as DeferredStreamGradient)?.Take() ?? (null, null);
            using (gradMerged)
            using (mix)
            {
                gradX = empty_like(x).MoveToOuterDisposeScope();
                gradPhi = empty_like(phi).MoveToOuterDisposeScope();
                gradBias = empty_like(bias).MoveToOuterDisposeScope();
                gradAlpha = empty_like(alpha).MoveToOuterDisposeScope();
                Tensor?[] all = [x, phi, bias, alpha, stats, pre, logits, Defined(gradOutputs[0]), Defined(gradOutputs[1]),
                    gradMerged is null ? null : mix, gradMerged, gradX, gradPhi, gradBias, gradAlpha];
                if (x.dtype == ScalarType.Float32)
                    Backward<float>(all, eps, iterations, convention);
                else
                    Backward<double>(all, eps, iterations, convention);
            }
            link?.Release();
        }
        GradientHandles.ReleaseIncoming([.. gradOutputs]);
        return GradientHandles.HandOver(gradX, gradPhi, gradBias, gradAlpha, null, null, null, null, null);
    }

    private static Tensor? Defined(Tensor? gradient) => gradient is { IsInvalid: false } g ? g.contiguous() : null;

    /// <param name="t">x, φ, b, α, the saved stats, H_pre and logits; ∂h, ∂H_post; M and the merge's ∂out; then ∂x, ∂φ, ∂b, ∂α to write.</param>
    private static unsafe void Backward<T>(Tensor?[] t, double eps, int iterations, ConnectionConvention convention)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.MixBackwardKernel);
        T* P(int i) => TensorMemory.OptionalPointer<T>(t[i]);
        var x = t[0]!;
        var shape = new CoefficientsShape(OpsArguments.Tokens(x, 2), (int)x.size(-2), (int)x.size(-1));
        var mixing = new MixBackwardKernel<T>.Mixing(iterations,
            convention.SinkhornFromSoftmax() ? T.CreateChecked(Conventions.Epsilon) : null, convention.TransposesResidualMix());
        MixBackwardKernel<T>.Compute(new(shape, P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8), P(9), P(10), P(11), P(12), P(13), P(14)),
            CoefficientsFunction.Form<T>(eps, convention), mixing);
    }
}
