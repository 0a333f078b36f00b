namespace Mhc.Runtime.Gpu.Kernels;

/// <summary>
/// The sizes every device kernel reads, passed by value as one kernel argument. Tensors are
/// [tokens, n, C] for streams, [tokens, n] / [tokens, n, n] for coefficients, flattened.
/// </summary>
internal readonly struct KernelSizes(int tokens, int streams, int channels, int iterations, float rmsEps)
{
    public readonly int Tokens = tokens;
    public readonly int Streams = streams;
    public readonly int Channels = channels;
    public readonly int Iterations = iterations;
    public readonly float RmsEps = rmsEps;

    /// <summary>n·C, the length of one token's vec(x).</summary>
    public int Width => Streams * Channels;

    /// <summary>n² + 2n, the projections per token: [pre n | post n | res n²].</summary>
    public int Projections => Streams * Streams + 2 * Streams;

    /// <summary>Which α scales projection column j: 0 pre, 1 post, 2 res.</summary>
    public int GroupOf(int column) => column < Streams ? 0 : column < 2 * Streams ? 1 : 2;

    /// <summary>Largest n the kernels take: Sinkhorn keeps a token's n×n matrices in local memory of fixed size.</summary>
    public const int MaxStreams = 8;
}
