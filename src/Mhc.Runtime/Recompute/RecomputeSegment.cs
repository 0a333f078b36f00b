using static TorchSharp.torch;

namespace Mhc.Runtime.Recompute;

/// <summary>
/// A run of consecutive mHC connections, each taking the streams the previous one returned, whose inner
/// stream states are not kept for the backward (paper Eq. 20). Only the first connection's input is kept;
/// the backward re-derives the others from it with the merge each connection already saved operands for,
/// <c>x_{k+1} = H_res·x_k + H_post·f_k</c> — no branch runs again. The merge kernel is deterministic, so the
/// re-derived states, and hence the gradients, are bit-identical to a run that saved them.
/// </summary>
/// <remarks>
/// The engine runs a segment's backward from its last connection to its first, and every op of connection
/// k runs before the merge of connection k − 1 (that merge needs the gradient of x_k, which those ops
/// produce). So the first borrow re-derives every state up to the one asked for, and asking for x_k means
/// the states after k are no longer needed. Not thread-safe: a graph's backward runs on one thread on the CPU.
/// </remarks>
internal sealed class RecomputeSegment
{
    private readonly List<StreamLink> _links = [];

    public int Count => _links.Count;

    // Per thread, like the backward that changes them; for tests.
    [ThreadStatic] private static long t_recomputed;
    [ThreadStatic] private static int t_live;

    /// <summary>Stream states re-derived on this thread so far.</summary>
    internal static long StatesRecomputed => t_recomputed;

    /// <summary>Re-derived stream states created on this thread and not yet freed.</summary>
    internal static int LiveStates => t_live;

    internal static void StateFreed() => t_live--;

    public StreamLink Append(ScalarType activationType)
    {
        var link = new StreamLink(this, _links.Count, activationType);
        _links.Add(link);
        return link;
    }

    internal Tensor Borrow(int index)
    {
        if (index < 1 || index >= _links.Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, "Only the later links of a segment borrow their input.");
        for (int i = index + 1; i < _links.Count; i++)
            _links[i].DropState();
        if (_links[index].LiveState is { } cached)
            return cached;

        int from = index - 1;
        while (from > 0 && _links[from].LiveState is null)
            from--;
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var x = from == 0 ? _links[0].Merge.SavedInput() : _links[from].State!;
        for (int k = from; k < index; k++)
        {
            var next = _links[k].Merge.Next(x);
            var link = _links[k + 1];
            if (next.dtype != link.ActivationType)
                next = next.to_type(link.ActivationType).to_type(next.dtype);
            // Owned by the segment, which frees it as soon as the ops that read it are done; the scope current
            // when the op borrowed (the caller of backward()'s) is the backstop for a backward that never
            // reaches those ops (autograd.grad for part of the graph), so such a state outlives it by nothing.
            link.State = next.MoveToOuterDisposeScope();
            t_recomputed++;
            t_live++;
            x = next;
        }
        return _links[index].State!;
    }

    /// <summary>
    /// Frees every re-derived state of the segment; called by the backward of its first merge, which the
    /// engine runs only after every later op of the segment it reaches. States an op that never runs (a
    /// branch that ignores its input) would have released go here.
    /// </summary>
    internal void DropAll()
    {
        for (int i = 1; i < _links.Count; i++)
            _links[i].DropState();
    }
}
