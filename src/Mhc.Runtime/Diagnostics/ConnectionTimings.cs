using System.Diagnostics;

namespace Mhc.Runtime.Diagnostics;

/// <summary>
/// Wall-clock totals of the parts of the connections' work, accumulated while <see cref="Enabled"/>: what the
/// benchmarks' overhead attribution reads from inside real training steps. Off (the default) every timed region
/// costs one static read. Regions nest (a node's time includes its kernels'), so a reader takes differences
/// for exclusive parts. Turn it on and off between steps, never while a connection runs.
/// </summary>
internal static class ConnectionTimings
{
    private static readonly long[] s_ticks = new long[Enum.GetValues<TimedPart>().Length];
    private static readonly long[] s_counts = new long[s_ticks.Length];

    /// <summary>Whether regions are being timed.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Starts timing <paramref name="part"/> until the returned region is disposed; nothing when off.</summary>
    public static TimedRegion Time(TimedPart part) => new(part, Enabled ? Stopwatch.GetTimestamp() : 0);

    /// <summary>Adds an interval measured elsewhere (in <see cref="Stopwatch"/> ticks).</summary>
    public static void Add(TimedPart part, long ticks)
    {
        Interlocked.Add(ref s_ticks[(int)part], ticks);
        Interlocked.Increment(ref s_counts[(int)part]);
    }

    /// <summary>Milliseconds and region counts accumulated since the last <see cref="Reset"/>.</summary>
    public static IReadOnlyDictionary<TimedPart, (double Milliseconds, long Count)> Snapshot()
        => Enum.GetValues<TimedPart>().ToDictionary(p => p,
            p => (Interlocked.Read(ref s_ticks[(int)p]) * 1000.0 / Stopwatch.Frequency, Interlocked.Read(ref s_counts[(int)p])));

    /// <summary>Clears the totals, and the backward's last event (reset between backward passes).</summary>
    public static void Reset()
    {
        Array.Clear(s_ticks);
        Array.Clear(s_counts);
        s_lastNode = null;
    }

    // The backward node that ran last on the connections' chain, and when it returned.
    private static BackwardNode? s_lastNode;
    private static long s_lastEnd;

    /// <summary>
    /// Times a connection's backward node and the engine's gap before it (<see cref="TimedPart.EngineGaps"/>), where
    /// the node before it on the connections' chain was the one the engine runs just before: the merge after the
    /// later connection's mix (φ, b and α's gradients accumulated between), the branch's output marker after the
    /// merge, the mix after the branch's input marker (or after the merge, for a branch that ignores h).
    /// </summary>
    public static TimedRegion TimeBackward(TimedPart part, BackwardNode node)
    {
        if (!Enabled)
            return default;
        long now = Stopwatch.GetTimestamp();
        bool adjacent = (node, s_lastNode) switch
        {
            (BackwardNode.Merge, BackwardNode.Mix) => true,
            (BackwardNode.BranchOutput, BackwardNode.Merge) => true,
            (BackwardNode.Mix, BackwardNode.BranchInput or BackwardNode.Merge) => true,
            _ => false,
        };
        if (adjacent)
            Add(TimedPart.EngineGaps, now - s_lastEnd);
        return new TimedRegion(part, now, node);
    }

    /// <summary>One timed region: adds its wall time to its part when disposed (and notes a backward node's end).</summary>
    internal readonly struct TimedRegion(TimedPart part, long start, BackwardNode? node = null) : IDisposable
    {
        public void Dispose()
        {
            if (start == 0)
                return;
            long end = Stopwatch.GetTimestamp();
            if (part != TimedPart.None)
                Add(part, end - start);
            if (node is { } backwardNode)
            {
                s_lastNode = backwardNode;
                s_lastEnd = end;
            }
        }
    }
}

/// <summary>The backward nodes of a connection that <see cref="ConnectionTimings.TimeBackward"/> orders, in the order the engine runs them.</summary>
internal enum BackwardNode
{
    Merge,
    BranchOutput,
    BranchInput,
    Mix,
}

/// <summary>What <see cref="ConnectionTimings"/> times. Nested parts are listed under the part that contains them.</summary>
internal enum TimedPart
{
    /// <summary>Nothing: a region that only marks a backward node's end.</summary>
    None,

    /// <summary>A connection's forward on the autograd path, its branch included.</summary>
    Connection,
    /// <summary>The branch's forward, inside <see cref="Connection"/>.</summary>
    Branch,
    /// <summary>Setting up the two <see cref="BranchMarker"/> nodes around a branch, inside <see cref="Connection"/>: the timings' own cost.</summary>
    Markers,
    /// <summary>The branch's backward: from its output's gradient arriving to its input's (marker nodes around the branch).</summary>
    BranchBackward,

    /// <summary>The mix node's apply, as the connection calls it: TorchSharp's node set-up around <see cref="MixForward"/>.</summary>
    MixApply,
    /// <summary>The mix node's forward callback.</summary>
    MixForward,
    /// <summary>The mix node's backward callback.</summary>
    MixBackward,
    /// <summary>The merge node's apply, around <see cref="MergeForward"/>.</summary>
    MergeApply,
    /// <summary>The merge node's forward callback.</summary>
    MergeForward,
    /// <summary>The merge node's backward callback.</summary>
    MergeBackward,

    /// <summary>Kernel: RMS statistic, v·φ and the sigmoids (φ's transposition included), and in a connection's mix the pre-mix.</summary>
    CoefficientsKernel,
    /// <summary>Kernel: Sinkhorn–Knopp.</summary>
    SinkhornKernel,
    /// <summary>Kernel: the pre-mix h = Σ H_pre·x, where it runs alone (the public op).</summary>
    PreMixKernel,
    /// <summary>Kernel: res-mix, post-mix and add.</summary>
    MergeKernel,
    /// <summary>Kernel: the coefficients' per-token chain rule.</summary>
    CoefficientsBackwardKernel,
    /// <summary>Kernel: Sinkhorn's backward (iterations recomputed).</summary>
    SinkhornBackwardKernel,
    /// <summary>Kernel: the public pre-mix op's backward.</summary>
    PreMixBackwardKernel,
    /// <summary>Kernel: the merge's backward.</summary>
    MergeBackwardKernel,
    /// <summary>Kernel: the coefficients op's pass for ∂x and ∂φ (gq·φᵀ and vᵀ·gq, then the RMS norm's term).</summary>
    InputGradientKernel,
    /// <summary>
    /// Kernel: a connection's whole mix backward in one pass (∂H_pre and ∂M, Sinkhorn's backward, the chain rule, then ∂x
    /// and ∂φ with the RMS norm's, the pre-mix's and the merge's terms).
    /// </summary>
    MixBackwardKernel,

    /// <summary>
    /// Inside the kernels: wall time a threaded kernel spends beyond its chunks' work spread evenly over the threads
    /// (waking the team, uneven chunks, the last chunk's wait).
    /// </summary>
    ChunkWaiting,

    /// <summary>
    /// The autograd engine's time between the connections' backward nodes: scheduling, and φ, b and α's gradients
    /// accumulated into their leaves (<see cref="ConnectionTimings.TimeBackward"/>).
    /// </summary>
    EngineGaps,
}
