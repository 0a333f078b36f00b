using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Recent decoder variants: Gemma 2's sandwich norms (a norm on each branch's output too, RMSNorm scaled by
// 1 + weight), Falcon's parallel block that accumulates its branches with += before adding the residual, a
// stack looped up to a config count rather than the list's Count, a block that mixes the first layer's
// output back into its stream (modded-nanogpt's x0), and U-Net-style skips between the two halves of a stack.
namespace Ports.ModernGpt;

public sealed class GptConfig
{
    public int vocab_size = 32;
    public int n_embd = 16;
    public int n_head = 2;
    public int n_layer = 2;
    public double rms_norm_eps = 1e-6;
}

/// <summary>Gemma's RMSNorm: weights start at zero and scale by (1 + weight).</summary>
public sealed class GemmaRMSNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double eps;

    public GemmaRMSNorm(long dim, double eps = 1e-6) : base(nameof(GemmaRMSNorm))
    {
        this.eps = eps;
        weight = Parameter(zeros(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var output = x * rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + eps);
        return output * (1.0 + weight);   // not residual: the (1 + weight) scale
    }
}

public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear c_attn, c_proj;
    private readonly long n_head;

    public CausalSelfAttention(long n_embd, long n_head) : base(nameof(CausalSelfAttention))
    {
        this.n_head = n_head;
        c_attn = Linear(n_embd, 3 * n_embd, hasBias: false);
        c_proj = Linear(n_embd, n_embd, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (B, T, C) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = c_attn.forward(x).view(B, T, 3, n_head, C / n_head).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_casual: true);
        return c_proj.forward(y.transpose(1, 2).reshape(B, T, C));
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear c_fc, c_proj;

    public Mlp(long n_embd) : base(nameof(Mlp))
    {
        c_fc = Linear(n_embd, 4 * n_embd, hasBias: false);
        c_proj = Linear(4 * n_embd, n_embd, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => c_proj.forward(functional.relu(c_fc.forward(x)).square());
}

/// <summary>Gemma 2: input, post-attention, pre-feed-forward and post-feed-forward norms.</summary>
[HyperConnected]
public sealed partial class Gemma2DecoderLayer : Module<Tensor, Tensor>
{
    private readonly GemmaRMSNorm input_layernorm, post_attention_layernorm, pre_feedforward_layernorm, post_feedforward_layernorm;
    private readonly CausalSelfAttention self_attn;
    private readonly Mlp mlp;

    public Gemma2DecoderLayer(GptConfig config) : base(nameof(Gemma2DecoderLayer))
    {
        input_layernorm = new GemmaRMSNorm(config.n_embd, config.rms_norm_eps);
        self_attn = new CausalSelfAttention(config.n_embd, config.n_head);
        post_attention_layernorm = new GemmaRMSNorm(config.n_embd, config.rms_norm_eps);
        pre_feedforward_layernorm = new GemmaRMSNorm(config.n_embd, config.rms_norm_eps);
        mlp = new Mlp(config.n_embd);
        post_feedforward_layernorm = new GemmaRMSNorm(config.n_embd, config.rms_norm_eps);
        InitializeHyperConnections(channels: config.n_embd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        hidden_states = hc_self_attn.forward(hidden_states, h =>
        {
            h = input_layernorm.forward(h);
            h = self_attn.forward(h);
            h = post_attention_layernorm.forward(h);
            return h;
        });   // expect: MHC0001

        hidden_states = hc_mlp.forward(hidden_states, h =>
        {
            h = pre_feedforward_layernorm.forward(h);
            h = mlp.forward(h);
            h = post_feedforward_layernorm.forward(h);
            return h;
        });   // expect: MHC0001
        return hidden_states;
    }
}

/// <summary>Falcon's parallel block with two norms: the MLP output accumulates the attention output, then the residual.</summary>
[HyperConnected]
public sealed partial class FalconDecoderLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_attn, ln_mlp;
    private readonly CausalSelfAttention self_attention;
    private readonly Mlp mlp;

    public FalconDecoderLayer(GptConfig config) : base(nameof(FalconDecoderLayer))
    {
        ln_attn = LayerNorm(config.n_embd);
        ln_mlp = LayerNorm(config.n_embd);
        self_attention = new CausalSelfAttention(config.n_embd, config.n_head);
        mlp = new Mlp(config.n_embd);
        InitializeHyperConnections(channels: config.n_embd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        return hc_self_attention.forward(hidden_states, h =>
        {
            var attention_output = self_attention.forward(ln_attn.forward(h));
            var mlp_output = mlp.forward(ln_mlp.forward(h));
            mlp_output += attention_output;   // not residual: the two parallel branches summed
            return mlp_output;
        });   // expect: MHC0001
    }
}

/// <summary>modded-nanogpt's block: the stream is mixed with the embedding output x0 before the two residuals.</summary>
public sealed class ValueMixBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly CausalSelfAttention attn;
    private readonly Mlp mlp;
    private readonly Parameter lambdas;

    public ValueMixBlock(GptConfig config) : base(nameof(ValueMixBlock))
    {
        ln_1 = LayerNorm(config.n_embd);
        attn = new CausalSelfAttention(config.n_embd, config.n_head);
        ln_2 = LayerNorm(config.n_embd);
        mlp = new Mlp(config.n_embd);
        lambdas = Parameter(tensor(new float[] { 1.0f, 0.5f }));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor x0)
    {
        x = lambdas[0] * x + lambdas[1] * x0;
        x = x + attn.forward(ln_1.forward(x));   // expect: MHC0002 stream-escapes
        x = x + mlp.forward(ln_2.forward(x));   // expect: MHC0002 stream-escapes
        return x;
    }
}

/// <summary>Stacked in two halves; the model adds each encoder-half output back into the decoder half.</summary>
public sealed class SkipBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public SkipBlock(GptConfig config) : base(nameof(SkipBlock))
    {
        norm = LayerNorm(config.n_embd);
        mlp = new Mlp(config.n_embd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x + mlp.forward(norm.forward(x));   // expect: MHC0002 stack
}

public sealed class ModernGpt : Module<Tensor, Tensor>
{
    private readonly GptConfig config;
    private readonly Embedding wte;
    private readonly ModuleList<Gemma2DecoderLayer> gemma_layers;
    private readonly ModuleList<FalconDecoderLayer> falcon_layers;
    private readonly ModuleList<ValueMixBlock> mix_blocks;
    private readonly ModuleList<SkipBlock> encoder_layers, decoder_layers;
    private readonly Parameter skip_weights;
    private readonly GemmaRMSNorm norm;
    private readonly Linear lm_head;

    public ModernGpt(GptConfig config) : base(nameof(ModernGpt))
    {
        this.config = config;
        wte = Embedding(config.vocab_size, config.n_embd);
        gemma_layers = new ModuleList<Gemma2DecoderLayer>(Enumerable.Range(0, config.n_layer).Select(_ => new Gemma2DecoderLayer(config)).ToArray());
        falcon_layers = new ModuleList<FalconDecoderLayer>(Enumerable.Range(0, config.n_layer).Select(_ => new FalconDecoderLayer(config)).ToArray());
        mix_blocks = new ModuleList<ValueMixBlock>(Enumerable.Range(0, config.n_layer).Select(_ => new ValueMixBlock(config)).ToArray());
        encoder_layers = new ModuleList<SkipBlock>(Enumerable.Range(0, config.n_layer).Select(_ => new SkipBlock(config)).ToArray());
        decoder_layers = new ModuleList<SkipBlock>(Enumerable.Range(0, config.n_layer).Select(_ => new SkipBlock(config)).ToArray());
        skip_weights = Parameter(ones(config.n_layer));
        norm = new GemmaRMSNorm(config.n_embd, config.rms_norm_eps);
        lm_head = Linear(config.n_embd, config.vocab_size, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor idx)
    {
        var x = wte.forward(idx);
        x = x * Math.Sqrt(config.n_embd);   // Gemma's embedding normalizer

        x = HyperStreams.Expand(x, Gemma2DecoderLayer.HyperConnectionStreams);
        for (int i = 0; i < config.n_layer; i++)
            x = gemma_layers[i].forward(x);
        x = HyperStreams.Run(x, falcon_layers, (layer, streams) => layer.forward(streams));
        x = HyperStreams.Reduce(x);

        var x0 = x;
        foreach (var block in mix_blocks)
            x = block.forward(x, x0);

        var skips = new Stack<Tensor>();
        for (var i = 0; i < encoder_layers.Count; i++)
        {
            x = encoder_layers[i].forward(x);
            skips.Push(x);
        }

        for (var i = 0; i < decoder_layers.Count; i++)
        {
            x = x + skip_weights[i] * skips.Pop();   // not residual: a skip from the encoder half, no module
            x = decoder_layers[i].forward(x);
        }

        return lm_head.forward(norm.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new ModernGpt(new GptConfig());

    public static Tensor Run(Module model)
    {
        using var idx = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(9).remainder(32);
        return ((ModernGpt)model).forward(idx);
    }
}
