using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Mhc.Runtime;

/// <summary>
/// Collapses n streams [..., n, C] to one [..., C]. <see cref="ReduceMode.Learned"/> weighs the
/// streams per token with <c>w = σ(α·(vec(x)·φ)/rms(x) + b)</c>, as in DeepSeek's released kernels;
/// with φ = 0 and σ(b) = 1/n it starts as the mean, so a converted network still equals the original.
/// </summary>
public sealed class StreamReduce : nn.Module<Tensor, Tensor>
{
    // Named as registered so that Module.to() rebinds them (see HyperConnection).
    private Parameter? phi, bias, alpha;

    public StreamReduce(string name, int streams, long channels, ReduceMode mode = ReduceMode.Mean, double alphaInit = 0.01)
        : base(name)
    {
        if (streams < 1) throw new ArgumentOutOfRangeException(nameof(streams), streams, "The number of streams must be at least 1.");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, "The stream width must be positive.");
        Streams = streams;
        Channels = channels;
        Mode = mode;
        if (mode == ReduceMode.Learned)
        {
            if (streams < 2)
                throw new ArgumentOutOfRangeException(nameof(streams), streams, "A learned reduction needs at least 2 streams.");
            phi = nn.Parameter(zeros(streams * channels, streams));
            bias = nn.Parameter(full(streams, ConnectionInit.Logit(1.0 / streams), dtype: ScalarType.Float32));
            alpha = nn.Parameter(full(1, alphaInit, dtype: ScalarType.Float32));
            register_parameter(nameof(phi), phi);
            register_parameter(nameof(bias), bias);
            register_parameter(nameof(alpha), alpha);
        }
    }

    public int Streams { get; }

    public long Channels { get; }

    public ReduceMode Mode { get; }

    public override Tensor forward(Tensor streams)
    {
        ArgumentNullException.ThrowIfNull(streams);
        StreamShape.RequireStreams(streams, Streams, Channels, nameof(streams));
        if (Mode != ReduceMode.Learned)
            return HyperStreams.Reduce(streams, Mode);

        var computeType = StreamShape.ComputeType(streams.dtype, nameof(streams));
        using var scope = NewDisposeScope();
        var x = streams.to_type(computeType);
        var v = x.flatten(-2);
        var rms = (v.square().mean(new long[] { -1 }, keepdim: true) + 1e-6).sqrt();
        var logits = alpha!.to_type(computeType) * v.matmul(phi!.to_type(computeType)) / rms + bias!.to_type(computeType);
        var weights = logits.sigmoid().unsqueeze(-1);
        return (weights * x).sum(-2L).to_type(streams.dtype).MoveToOuterDisposeScope();
    }
}
