using Mhc.Runtime;
using Mhc.Runtime.Kernels;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// The GPTs compared: the plain residual sample, and the tool-converted sample with its connections
/// set to mHC or to the 4-stream residual (connections off, streams kept), which isolates what the
/// wider stream state alone costs. One mHC variant runs the reference path of composed TorchSharp ops
/// (what the fused kernels save); two run the fused kernels off libtorch's OpenMP team, where the runtime
/// runs them: on .NET's thread pool beside it, and on the calling thread only; another
/// recomputes the connections' stream states in the backward (paper Eq. 20).
/// </summary>
internal sealed record GptVariant(string Name, ConnectionKind? Kind, ChunkThreads Threads = ChunkThreads.TorchTeam, bool Recompute = false,
    OpsImplementation Implementation = OpsImplementation.Fused)
{
    public static readonly GptVariant Residual = new("residual", null);
    public static readonly GptVariant WideResidual = new("4 streams, no mixing", ConnectionKind.Residual);
    public static readonly GptVariant Mhc = new("mHC (n = 4)", ConnectionKind.Mhc);
    public static readonly GptVariant MhcReference = new("mHC (n = 4), reference path (composed ops)", ConnectionKind.Mhc,
        Implementation: OpsImplementation.Reference);
    public static readonly GptVariant MhcDotNetPool = new("mHC (n = 4), kernels on .NET's thread pool", ConnectionKind.Mhc, ChunkThreads.DotNetPool);
    public static readonly GptVariant MhcOneThread = new("mHC (n = 4), kernels on caller's thread", ConnectionKind.Mhc, ChunkThreads.CallerOnly);
    public static readonly GptVariant MhcRecompute = new("mHC + recompute", ConnectionKind.Mhc, Recompute: true);

    /// <summary>Wraps one timed run of this variant in its kernel threading.</summary>
    public Action Around(Action run) => Threads == ChunkThreads.TorchTeam ? run : () =>
    {
        TokenChunks.Threads = Threads;
        try { run(); }
        finally { TokenChunks.Threads = ChunkThreads.TorchTeam; }
    };

    /// <summary>Builds the model from <paramref name="seed"/>: equal seeds give equal GPT weights in every variant.</summary>
    public nn.Module<Tensor, Tensor> Create(GptShape shape, long seed)
    {
        manual_seed(seed);
        if (Kind is not { } kind)
            return new global::Gpt.Residual.GptModel(new global::Gpt.Residual.GptConfig
            {
                VocabSize = GptShape.Vocabulary, BlockSize = shape.Context, NLayer = shape.Layers, NEmbd = shape.Width, NHead = shape.Heads,
            });
        using var _ = HyperConnections.OverrideOptions(options => options with { Kind = kind, Implementation = Implementation });
        var model = new global::Gpt.HyperConnected.GptModel(new global::Gpt.HyperConnected.GptConfig
        {
            VocabSize = GptShape.Vocabulary, BlockSize = shape.Context, NLayer = shape.Layers, NEmbd = shape.Width, NHead = shape.Heads,
        });
        HyperConnections.EnableRecompute(model, Recompute);
        return model;
    }
}
