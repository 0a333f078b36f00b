using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Mhc.Demo;

public sealed record GptConfig(long VocabSize, long Width = 64, long Heads = 4, int Layers = 2, long Context = 32, double Dropout = 0.0);

public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear c_attn, c_proj;
    private readonly long _heads;

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        _heads = config.Heads;
        c_attn = Linear(config.Width, 3 * config.Width);
        c_proj = Linear(config.Width, config.Width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], c = x.shape[2];
        var qkv = c_attn.forward(x).split(c, 2);
        var q = qkv[0].view(b, t, _heads, c / _heads).transpose(1, 2);
        var k = qkv[1].view(b, t, _heads, c / _heads).transpose(1, 2);
        var v = qkv[2].view(b, t, _heads, c / _heads).transpose(1, 2);
        var y = functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return c_proj.forward(y.transpose(1, 2).contiguous().view(b, t, c)).MoveToOuterDisposeScope();
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear c_fc, c_proj;

    public Mlp(GptConfig config) : base(nameof(Mlp))
    {
        c_fc = Linear(config.Width, 4 * config.Width);
        c_proj = Linear(4 * config.Width, config.Width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var hidden = functional.gelu(c_fc.forward(x));
        return c_proj.forward(hidden);
    }
}

/// <summary>A pre-norm transformer block written the ordinary way: <c>x = x + F(ln(x))</c>.</summary>
public sealed class ResidualBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly CausalSelfAttention attn;
    private readonly Mlp mlp;

    public ResidualBlock(GptConfig config) : base(nameof(ResidualBlock))
    {
        ln_1 = LayerNorm(config.Width);
        attn = new CausalSelfAttention(config);
        ln_2 = LayerNorm(config.Width);
        mlp = new Mlp(config);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + attn.forward(ln_1.forward(x));
        x = x + mlp.forward(ln_2.forward(x));
        return x;
    }
}

/// <summary>The same block on n streams [B, T, n, C]: each residual site becomes a <see cref="HyperConnection"/>.</summary>
public sealed class HyperConnectedBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly CausalSelfAttention attn;
    private readonly Mlp mlp;
    private readonly HyperConnection hc_attn, hc_mlp;

    public HyperConnectedBlock(GptConfig config, HyperConnectionOptions options) : base(nameof(HyperConnectedBlock))
    {
        ln_1 = LayerNorm(config.Width);
        attn = new CausalSelfAttention(config);
        ln_2 = LayerNorm(config.Width);
        mlp = new Mlp(config);
        hc_attn = new HyperConnection(nameof(hc_attn), config.Width, options);
        hc_mlp = new HyperConnection(nameof(hc_mlp), config.Width, options);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));
        x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));
        return x;
    }
}

/// <summary>
/// A GPT small enough to train on a CPU in seconds. With <c>hyper</c> null it is the ordinary residual
/// network; otherwise every residual site is hyper-connected, with Expand before the block stack and
/// Reduce after it. Both forms share every sub-module name, so one's weights load into the other.
/// </summary>
public sealed class TinyGpt : Module<Tensor, Tensor>
{
    private readonly Embedding wte, wpe;
    private readonly ModuleList<Module<Tensor, Tensor>> h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;
    private readonly HyperConnectionOptions? _hyper;

    public TinyGpt(GptConfig config, HyperConnectionOptions? hyper = null) : base(nameof(TinyGpt))
    {
        Config = config;
        _hyper = hyper;
        wte = Embedding(config.VocabSize, config.Width);
        wpe = Embedding(config.Context, config.Width);
        h = new ModuleList<Module<Tensor, Tensor>>();
        for (int i = 0; i < config.Layers; i++)
            h.Add(hyper is null ? new ResidualBlock(config) : new HyperConnectedBlock(config, hyper));
        ln_f = LayerNorm(config.Width);
        lm_head = Linear(config.Width, config.VocabSize, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public GptConfig Config { get; }

    /// <summary>Token ids [B, T] → logits [B, T, vocab].</summary>
    public override Tensor forward(Tensor idx)
    {
        using var scope = NewDisposeScope();
        using var pos = arange(idx.shape[1], dtype: ScalarType.Int64, device: idx.device);
        var x = wte.forward(idx) + wpe.forward(pos);
        if (_hyper is not null) x = HyperStreams.Expand(x, _hyper.Streams);
        foreach (var block in h) x = block.forward(x);
        if (_hyper is not null) x = HyperStreams.Reduce(x);
        return lm_head.forward(ln_f.forward(x)).MoveToOuterDisposeScope();
    }
}
