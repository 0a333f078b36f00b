using static TorchSharp.torch;

namespace Mhc.Runtime.Recompute;

/// <summary>
/// What <see cref="HyperStreams.Run{TBlock}"/> knows while its blocks run: the stream states the
/// connections returned (so it can free them once superseded) and the recompute segment the next
/// connection would join. Ambient, so the generated connections need no extra argument.
/// </summary>
internal sealed class StreamTracker : IDisposable
{
    // Flows with the async context like the option overrides; each tracker restores the one it replaced.
    private static readonly AsyncLocal<StreamTracker?> s_current = new();

    private readonly StreamTracker? _previous;
    private readonly int _segmentLength;
    private readonly List<Tensor> _produced = [];
    private Tensor? _lastOutput;
    private StreamLink? _lastLink;
    private bool _disposed;

    private StreamTracker(int segmentLength, StreamTracker? previous)
    {
        _segmentLength = segmentLength;
        _previous = previous;
    }

    public static StreamTracker? Current => s_current.Value;

    /// <param name="segmentLength">Connections per recompute segment; below 2, nothing is recomputed.</param>
    public static StreamTracker Begin(int segmentLength)
    {
        var tracker = new StreamTracker(segmentLength, s_current.Value);
        s_current.Value = tracker;
        return tracker;
    }

    /// <summary>
    /// The link a connection about to run on <paramref name="streams"/> takes, or null when it saves its
    /// input as usual. A segment continues only with the very tensor the connection holding its last link
    /// returned, so the states the backward re-derives are the ones the forward used: anything computed in
    /// between (a new tensor), a connection called inside a branch, or a connection whose forward failed
    /// starts a new segment. It continues only when those streams require gradients, because only then did
    /// the previous merge keep the operands the segment re-derives from.
    /// </summary>
    public StreamLink? Join(HyperConnection connection, Tensor streams, bool fused)
    {
        bool recomputes = _segmentLength > 1 && connection.Recompute && connection.Kind == ConnectionKind.Mhc
            && fused && is_grad_enabled();
        if (!recomputes)
            return null;

        var segment = _lastLink is { } last && ReferenceEquals(streams, _lastOutput) && streams.requires_grad
            && last.Index == last.Segment.Count - 1 && last.Segment.Count < _segmentLength
            ? last.Segment
            : new RecomputeSegment();
        return segment.Append(streams.dtype);
    }

    /// <summary>Records the streams a connection returned and the link it ran as (null when it did not recompute).</summary>
    public void Produced(Tensor output, StreamLink? link)
    {
        _lastOutput = output;
        _lastLink = link;
        _produced.Add(output);
    }

    /// <summary>
    /// After a block: frees every stream state its connections returned except <paramref name="result"/>,
    /// the block's own output, which is freed after the next block unless it is the final result.
    /// </summary>
    public void Supersede(Tensor result)
    {
        bool keep = false;
        foreach (var state in _produced)
        {
            if (ReferenceEquals(state, result))
                keep = true;
            else
                state.Dispose();
        }
        _produced.Clear();
        if (keep)
            _produced.Add(result);
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _produced.Clear();
        s_current.Value = _previous;
    }
}
