using static TorchSharp.torch;

namespace Mhc.Runtime.Recompute;

/// <summary>
/// One connection's place in a <see cref="RecomputeSegment"/>. The fused ops of that connection use it
/// instead of saving their input stream state x: the first link of a segment still saves x (the segment
/// re-derives the others from it), every later link borrows x from the segment in the backward.
/// </summary>
internal sealed class StreamLink
{
    private IMergeOperands? _merge;
    private int _reads, _readsLeft;

    internal StreamLink(RecomputeSegment segment, int index, ScalarType activationType)
    {
        Segment = segment;
        Index = index;
        ActivationType = activationType;
    }

    public RecomputeSegment Segment { get; }

    /// <summary>Position in the segment; link 0's ops save their input as usual.</summary>
    public int Index { get; }

    /// <summary>The dtype the connection returns its streams in; the re-derived state is rounded through it, as the forward did.</summary>
    public ScalarType ActivationType { get; }

    /// <summary>True when the ops must save x themselves (the segment's first link).</summary>
    public bool SavesInput => Index == 0;

    /// <summary>The re-derived x of this link while its backward runs; owned by the segment.</summary>
    internal Tensor? State { get; set; }

    /// <summary><see cref="State"/> unless a dispose scope has freed it meanwhile (then it is forgotten).</summary>
    internal Tensor? LiveState
    {
        get
        {
            if (State is { IsInvalid: true })
                DropState();
            return State;
        }
    }

    /// <summary>
    /// What the connection's merge saved, as the segment re-derives the next state from it; the graph keeps it as
    /// long as it can be back-propagated through (a link joins a segment only when its input requires gradients,
    /// so that the previous merge saved its operands).
    /// </summary>
    internal IMergeOperands Merge => _merge
        ?? throw new InvalidOperationException($"Recompute link {Index} has no merge operands; its connection did not finish its forward.");

    /// <summary>Called by the connection's merge in its forward, with access to what it saved.</summary>
    public void AttachMerge(IMergeOperands operands) => _merge = operands;

    /// <summary>Called by an op's forward that will <see cref="Borrow"/> x in its backward.</summary>
    public void ExpectRead()
    {
        _reads++;
        _readsLeft++;
    }

    /// <summary>x of this link, re-derived on first use; valid until <see cref="Release"/>. Do not dispose it.</summary>
    /// <remarks>
    /// Call it outside the op's own dispose scopes: the re-derived x is also registered on the scope current
    /// here, that of the caller of backward(), as a backstop for a backward that never releases it.
    /// </remarks>
    public Tensor Borrow() => Segment.Borrow(Index);

    /// <summary>Ends one op's use of the borrowed x; the last one frees it.</summary>
    public void Release()
    {
        if (--_readsLeft <= 0)
            DropState();
    }

    /// <summary>Frees the re-derived x and re-arms the read count for another backward over a retained graph.</summary>
    internal void DropState()
    {
        if (State is { } state)
        {
            if (!state.IsInvalid)
                state.Dispose();
            RecomputeSegment.StateFreed();
        }
        State = null;
        _readsLeft = _reads;
    }
}

/// <summary>
/// A merge's saved operands as a <see cref="RecomputeSegment"/> uses them. The merge owns how it saved them; the
/// segment only asks for the first link's input and for each next state.
/// </summary>
internal interface IMergeOperands
{
    /// <summary>The input stream state the merge saved (a segment's first link only).</summary>
    Tensor SavedInput();

    /// <summary>x_{k+1} = H_res·x_k + H_post·f_k from <paramref name="x"/> and the saved H_res, H_post and branch output, without autograd.</summary>
    Tensor Next(Tensor x);
}
