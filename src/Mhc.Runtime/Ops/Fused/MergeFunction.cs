using Mhc.Runtime.Diagnostics;
using System.Numerics;
using Mhc.Runtime.Kernels;
using Mhc.Runtime.Recompute;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused res-mix + post-mix + merge. Arguments: (x [..., n, C], hRes [..., n, n], hPost [..., n],
/// branchOutput [..., C]), contiguous, and optionally the connection's <see cref="StreamLink"/>: the merge's
/// saved operands are what a recompute segment re-derives the next stream state from, and a later link
/// borrows x instead of saving it; then a <see cref="DeferredStreamGradient"/> (or <see cref="NoDeferral"/>), through
/// which a connection's merge leaves ∂x to the connection's mix.
/// </summary>
internal sealed class MergeFunction : SingleTensorFunction<MergeFunction>
{
    public override string Name => "MhcFusedMerge";

    private const string DeferredKey = "mhc.deferred-gradient";

    /// <summary>The sixth argument where the merge computes its own ∂x.</summary>
    internal static readonly object NoDeferral = new();

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        using var timed = ConnectionTimings.Time(TimedPart.MergeForward);
        var (x, hRes, hPost, branch) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        var joined = vars.Length > 4 ? vars[4] as StreamLink : null;
        ctx.save_data(DeferredKey, vars.Length > 5 ? vars[5] : NoDeferral);
        joined?.AttachMerge(new SavedOperands(ctx, joined.SavesInput));
        StreamLinks.MarkSegmentStart(ctx, joined);
        var link = StreamLinks.Borrowing(ctx, vars, 4);
        ctx.save_for_backward(link is null ? [x, hRes, hPost, branch] : [hRes, hPost, branch]);
        return Compute(x, hRes, hPost, branch);
    }

    /// <summary>
    /// This merge's saved operands for a recompute segment: x first where the merge saved it (a segment's first link),
    /// then H_res, H_post and the branch output, as <see cref="forward"/> saves them.
    /// </summary>
    private sealed class SavedOperands(AutogradContext ctx, bool savesInput) : IMergeOperands
    {
        public Tensor SavedInput() => ctx.get_saved_variables()[0];

        public Tensor Next(Tensor x)
        {
            var saved = ctx.get_saved_variables();
            int offset = savesInput ? 1 : 0;
            return Compute(x, saved[offset], saved[offset + 1], saved[offset + 2]);
        }
    }

    /// <summary>The merge without autograd: what runs under no_grad, and how a recompute segment re-derives a stream state.</summary>
    internal static Tensor Compute(Tensor x, Tensor hRes, Tensor hPost, Tensor branch)
    {
        var output = empty_like(x);
        if (x.dtype == ScalarType.Float32)
            Forward<float>(x, hRes, hPost, branch, output);
        else
            Forward<double>(x, hRes, hPost, branch, output);
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        using var timed = ConnectionTimings.TimeBackward(TimedPart.MergeBackward, BackwardNode.Merge);
        GradientHandles.ReleaseReturned();
        Tensor? gradX;
        Tensor? gradRes;
        Tensor gradPost, gradBranch;
        var borrowed = StreamLinks.BorrowInput(ctx, out var link);
        using (NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            if (borrowed is not null) saved.Insert(0, borrowed);
            var (x, hRes, hPost, branch) = (saved[0], saved[1], saved[2], saved[3]);
            var grad = gradOutput.contiguous();
            // A connection's merge leaves ∂x and ∂M (both read x) to its mix's backward, which makes them in its own pass over x.
            var deferred = ctx.get_data(DeferredKey) as DeferredStreamGradient;
            gradX = deferred is null ? empty_like(x).MoveToOuterDisposeScope() : null;
            gradRes = deferred is null ? empty_like(hRes).MoveToOuterDisposeScope() : null;
            gradPost = empty_like(hPost).MoveToOuterDisposeScope();
            gradBranch = empty_like(branch).MoveToOuterDisposeScope();
            Tensor?[] all = [x, hRes, hPost, branch, grad, gradX, gradRes, gradPost, gradBranch];
            if (x.dtype == ScalarType.Float32)
                Backward<float>(all);
            else
                Backward<double>(all);
            link?.Release();
            StreamLinks.SegmentStartedBy(ctx)?.DropAll();
            if (deferred is not null)
            {
                // The mix's backward disposes these two handles; moved to the scope of the caller of backward(), which
                // frees them where a partial backward never reaches the mix.
                deferred.Deposit(grad.MoveToOuterDisposeScope(), hRes.alias().MoveToOuterDisposeScope());
            }
        }
        GradientHandles.ReleaseIncoming(gradOutput);
        return GradientHandles.HandOver(gradX, gradRes, gradPost, gradBranch, null, null);
    }

    private static unsafe void Forward<T>(Tensor x, Tensor hRes, Tensor hPost, Tensor branch, Tensor output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.MergeKernel);
        MergeKernel<T>.Forward(TensorMemory.Pointer<T>(x), TensorMemory.Pointer<T>(hRes), TensorMemory.Pointer<T>(hPost),
            TensorMemory.Pointer<T>(branch), TensorMemory.Pointer<T>(output), OpsArguments.Tokens(x, 2), (int)x.size(-2), (int)x.size(-1));
    }

    /// <param name="t">x, hRes, hPost, branch, gradOutput, then the four gradients in the same order (∂x and ∂H_res null: not made here).</param>
    private static unsafe void Backward<T>(Tensor?[] t) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.MergeBackwardKernel);
        MergeKernel<T>.Backward(TensorMemory.Pointer<T>(t[0]!), TensorMemory.Pointer<T>(t[1]!), TensorMemory.Pointer<T>(t[2]!),
            TensorMemory.Pointer<T>(t[3]!), TensorMemory.Pointer<T>(t[4]!), TensorMemory.OptionalPointer<T>(t[5]), TensorMemory.OptionalPointer<T>(t[6]),
            TensorMemory.Pointer<T>(t[7]!), TensorMemory.Pointer<T>(t[8]!), OpsArguments.Tokens(t[0]!, 2), (int)t[0]!.size(-2), (int)t[0]!.size(-1));
    }
}
