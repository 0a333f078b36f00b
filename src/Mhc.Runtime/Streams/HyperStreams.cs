using Mhc.Runtime.Recompute;
using static TorchSharp.torch;

namespace Mhc.Runtime;

/// <summary>
/// Widening to n streams before the first block, running the block stack, and collapsing after the last
/// (MHC-SPEC §1).
/// </summary>
public static class HyperStreams
{
    /// <summary>Copies x [..., C] into n identical streams [..., n, C] (contiguous, so the fused kernels read it in place).</summary>
    public static Tensor Expand(Tensor x, int streams)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (streams < 1)
            throw new ArgumentOutOfRangeException(nameof(streams), streams, "The number of streams must be at least 1.");
        if (x.dim() < 1)
            throw new ArgumentException("Expected a tensor [..., C] with at least one dimension, got a scalar.", nameof(x));
        var shape = Ops.TensorShape.Of(x);
        var expanded = shape[..^1].Append(streams).Append(shape[^1]).ToArray();
        using var view = x.unsqueeze(-2).expand(expanded);
        return view.contiguous();
    }

    /// <summary>Collapses streams [..., n, C] to [..., C] by their mean (default, function-preserving) or sum.</summary>
    public static Tensor Reduce(Tensor streams, ReduceMode mode = ReduceMode.Mean)
    {
        ArgumentNullException.ThrowIfNull(streams);
        if (streams.dim() < 2)
            throw new ArgumentException(
                $"Expected a stream tensor [..., n, C], got {StreamShape.Format(streams.shape)}.", nameof(streams));
        return mode switch
        {
            ReduceMode.Mean => streams.mean(new long[] { -2 }),
            ReduceMode.Sum => streams.sum(-2L),
            ReduceMode.Learned => throw new ArgumentException(
                "A learned reduction has parameters: create a StreamReduce module with ReduceMode.Learned and call it instead.", nameof(mode)),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown reduce mode."),
        };
    }

    /// <summary>
    /// Runs the streams through a stack of blocks, <c>streams = step(block, streams)</c> for each block in
    /// order — what a <c>foreach</c> over the blocks does, plus what such a loop cannot:
    /// <list type="bullet">
    /// <item>the stream states the blocks' connections return are freed as soon as they are superseded
    /// (a block's inner states when it returns, its output when the next block returns) instead of when the
    /// model's forward ends; the final streams are returned to the caller, and <paramref name="streams"/>
    /// is never freed;</item>
    /// <item>connections with <see cref="HyperConnection.Recompute"/> set form recompute segments of
    /// <see cref="HyperConnections.RecomputeSegmentLength"/> connections (paper Eq. 20), so a training
    /// step keeps about one stream state per segment instead of one per connection.</item>
    /// </list>
    /// A stream state a connection returns inside a block belongs to this method, which frees it once the
    /// next block has returned (the last block's output is the result): a block or a step that needs one
    /// later (a list of every layer's output) must keep a copy (<c>clone()</c>). Everything else a block
    /// creates (caches, masks) is left alone. With recompute, a block must not change the streams a
    /// connection returned in place (see <see cref="HyperConnections.EnableRecompute"/>).
    /// </summary>
    /// <param name="streams">The streams entering the first block, [..., n, C].</param>
    /// <param name="blocks">The blocks, in order (a <c>ModuleList</c>).</param>
    /// <param name="step">Runs one block, e.g. <c>(block, x) =&gt; block.forward(x)</c>; further arguments go in the lambda.</param>
    /// <returns>The streams leaving the last block.</returns>
    public static Tensor Run<TBlock>(Tensor streams, IEnumerable<TBlock> blocks, Func<TBlock, Tensor, Tensor> step)
        where TBlock : nn.Module
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentNullException.ThrowIfNull(step);
        var stack = blocks as IReadOnlyList<TBlock> ?? blocks.ToList();

        using var tracker = StreamTracker.Begin(SegmentLength(stack));
        var current = streams;
        for (int i = 0; i < stack.Count; i++)
        {
            var block = stack[i] ?? throw new ArgumentException($"Block {i} of the stack is null.", nameof(blocks));
            var next = step(block, current)
                ?? throw new InvalidOperationException($"The step for block {i} ({block.GetName()}) returned null; it must return the block's output streams.");
            tracker.Supersede(next);
            current = next;
        }
        return current;
    }

    private static int SegmentLength<TBlock>(IReadOnlyList<TBlock> stack) where TBlock : nn.Module
    {
        if (!is_grad_enabled())
            return 0;
        var recomputing = stack.SelectMany(block => HyperConnections.Find(block))
            .Where(c => c.Recompute && c.Kind == ConnectionKind.Mhc)
            .ToList();
        return recomputing.Count == 0 ? 0 : HyperConnections.RecomputeSegmentLength(recomputing[0].Streams, recomputing.Count);
    }
}
