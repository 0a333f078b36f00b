using static TorchSharp.torch;

namespace Mhc.Runtime;

/// <summary>Widening to n streams before the first block and collapsing after the last (MHC-SPEC §1).</summary>
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
        var shape = x.shape;
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
}
