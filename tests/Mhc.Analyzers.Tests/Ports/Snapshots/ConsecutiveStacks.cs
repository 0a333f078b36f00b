using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Two stacks of different block classes run one after the other on the same stream (local mixing
// layers, then attention layers), as hybrid and staged models do.
namespace Ports.ConsecutiveStacks;

public sealed class TokenShift : Module<Tensor, Tensor>
{
    private readonly Linear mix;

    public TokenShift(long dim) : base(nameof(TokenShift))
    {
        mix = Linear(2 * dim, dim);
        RegisterComponents();
    }

    /// <summary>Each token sees itself and its predecessor.</summary>
    public override Tensor forward(Tensor x)
    {
        var previous = functional.pad(x, new long[] { 0, 0, 1, 0 }).narrow(1, 0, x.shape[1]);
        return mix.forward(cat(new[] { x, previous }, -1));
    }
}

/// <summary>A gated MLP: one projection gives gate and value.</summary>
public sealed class GatedMlp : Module<Tensor, Tensor>
{
    private readonly Linear w_in, w_out;

    public GatedMlp(long dim, long hidden) : base(nameof(GatedMlp))
    {
        w_in = Linear(dim, 2 * hidden);
        w_out = Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var parts = w_in.forward(x).chunk(2, -1);
        return w_out.forward(functional.silu(parts[0]) * parts[1]);
    }
}

/// <summary>One residual token-shift layer.</summary>
[HyperConnected]
public sealed partial class LocalBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly TokenShift shift;

    public LocalBlock(long dim) : base(nameof(LocalBlock))
    {
        norm = LayerNorm(dim);
        shift = new TokenShift(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_shift.forward(x, h => shift.forward(norm.forward(h)));   // expect: MHC0001
}

/// <summary>nn.MultiheadAttention on batch-first input.</summary>
public sealed class SelfAttention : Module<Tensor, Tensor>
{
    private readonly MultiheadAttention mha;

    public SelfAttention(long dim, long heads) : base(nameof(SelfAttention))
    {
        mha = MultiheadAttention(dim, heads);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var s = x.transpose(0, 1);   // sequence-first
        return mha.call(s, s, s, null, false, null).Item1.transpose(0, 1);
    }
}

[HyperConnected]
public sealed partial class GlobalBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln1, ln2;
    private readonly SelfAttention attn;
    private readonly GatedMlp mlp;

    public GlobalBlock(long dim, long heads) : base(nameof(GlobalBlock))
    {
        ln1 = LayerNorm(dim);
        attn = new SelfAttention(dim, heads);
        ln2 = LayerNorm(dim);
        mlp = new GatedMlp(dim, 24);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(ln2.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class HybridModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<LocalBlock> local_layers;
    private readonly ModuleList<GlobalBlock> global_layers;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public HybridModel(long vocab = 32, long dim = 16) : base(nameof(HybridModel))
    {
        embed = Embedding(vocab, dim);
        local_layers = new ModuleList<LocalBlock>(Enumerable.Range(0, 2).Select(_ => new LocalBlock(dim)).ToArray());
        global_layers = new ModuleList<GlobalBlock>(Enumerable.Range(0, 2).Select(_ => new GlobalBlock(dim, 2)).ToArray());
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);
        x = HyperStreams.Expand(x, LocalBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, local_layers, (layer, streams) => layer.forward(streams));
        x = HyperStreams.Run(x, global_layers, (layer, streams) => layer.forward(streams));
        x = HyperStreams.Reduce(x);
        return head.forward(norm.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new HybridModel();

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 14, dtype: ScalarType.Int64).view(2, 7).mul(9).remainder(32);
        return ((HybridModel)model).forward(tokens);
    }
}
