using System;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// The identity path kept under the names ports give it (residue, resX, identity, shortcut), added on the
// right of the branch as often as on the left, with the attention's weights deconstructed off its output.
namespace Ports.ResidualNames;

/// <summary>Scaled dot-product attention that also hands back its weights, as HF-style attentions do.</summary>
public sealed class SelfAttention : Module<Tensor, Tensor?, (Tensor AttnOutput, Tensor AttnWeights)>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly long num_heads, head_dim;

    public SelfAttention(long hidden_size, long num_heads) : base(nameof(SelfAttention))
    {
        this.num_heads = num_heads;
        head_dim = hidden_size / num_heads;
        q_proj = Linear(hidden_size, hidden_size, hasBias: false);
        k_proj = Linear(hidden_size, hidden_size, hasBias: false);
        v_proj = Linear(hidden_size, hidden_size, hasBias: false);
        o_proj = Linear(hidden_size, hidden_size, hasBias: false);
        RegisterComponents();
    }

    public override (Tensor AttnOutput, Tensor AttnWeights) forward(Tensor hidden_states, Tensor? causal_mask)
    {
        var (bsz, q_len) = (hidden_states.shape[0], hidden_states.shape[1]);
        var q = q_proj.forward(hidden_states).view(bsz, q_len, num_heads, head_dim).transpose(1, 2);
        var k = k_proj.forward(hidden_states).view(bsz, q_len, num_heads, head_dim).transpose(1, 2);
        var v = v_proj.forward(hidden_states).view(bsz, q_len, num_heads, head_dim).transpose(1, 2);
        var scores = q.matmul(k.transpose(2, 3)) / Math.Sqrt(head_dim);
        if (causal_mask is not null)
            scores = scores.masked_fill(causal_mask, float.NegativeInfinity);
        var attn_weights = functional.softmax(scores, -1);
        var attn_output = attn_weights.matmul(v).transpose(1, 2).reshape(bsz, q_len, num_heads * head_dim);
        return (o_proj.forward(attn_output), attn_weights);
    }
}

public sealed class SwiGluMlp : Module<Tensor, Tensor>
{
    private readonly Linear gate_proj, up_proj, down_proj;

    public SwiGluMlp(long hidden_size, long intermediate_size) : base(nameof(SwiGluMlp))
    {
        gate_proj = Linear(hidden_size, intermediate_size, hasBias: false);
        up_proj = Linear(hidden_size, intermediate_size, hasBias: false);
        down_proj = Linear(intermediate_size, hidden_size, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.forward(functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
}

/// <summary>
/// A decoder layer: <c>residue</c> and <c>resX</c> hold the identity; the attention's weights come off its
/// output by deconstruction into the branch variable; the second residual is added on the right.
/// </summary>
[HyperConnected]
public sealed partial class DecoderLayer : Module<Tensor, Tensor?, Tensor>
{
    private readonly LayerNorm input_layernorm, post_attention_layernorm;
    private readonly SelfAttention self_attn;
    private readonly SwiGluMlp mlp;

    public DecoderLayer(long hidden_size, long num_heads, long intermediate_size) : base(nameof(DecoderLayer))
    {
        input_layernorm = LayerNorm(hidden_size, eps: 1e-6);
        self_attn = new SelfAttention(hidden_size, num_heads);
        post_attention_layernorm = LayerNorm(hidden_size, eps: 1e-6);
        mlp = new SwiGluMlp(hidden_size, intermediate_size);
        InitializeHyperConnections(channels: hidden_size);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor? causal_mask)
    {
        var h = hc_self_attn.forward(hidden_states, s =>
        {
            s = input_layernorm.forward(s);
            (s, var attn_weights) = self_attn.forward(s, causal_mask);
            return s;
        });   // expect: MHC0001

        h = hc_mlp.forward(h, s =>
        {
            s = post_attention_layernorm.forward(s);
            s = mlp.forward(s);
            return s;
        });   // expect: MHC0001
        return h;
    }
}

/// <summary>
/// A layer on nn.MultiheadAttention (a Tuple: the output is <c>Item1</c>), the identity on the right under
/// the name <c>identity</c>; then <c>shortcut</c> added back with <c>+=</c>.
/// </summary>
[HyperConnected]
public sealed partial class MhaLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly MultiheadAttention mha;
    private readonly SwiGluMlp ffn;

    public MhaLayer(long embed_dim, long num_heads) : base(nameof(MhaLayer))
    {
        norm1 = LayerNorm(embed_dim);
        mha = MultiheadAttention(embed_dim, num_heads);
        norm2 = LayerNorm(embed_dim);
        ffn = new SwiGluMlp(embed_dim, 2 * embed_dim);
        InitializeHyperConnections(channels: embed_dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mha.forward(x, h =>
        {
            var q = norm1.forward(h).transpose(0, 1);   // nn.MultiheadAttention is sequence-first
            return mha.forward(q, q, q, null, false, null).Item1.transpose(0, 1);
        });   // expect: MHC0001

        x = hc_ffn.forward(x, h =>
        {
            h = ffn.forward(norm2.forward(h));
            return h;
        });   // expect: MHC0001
        return x;
    }
}

/// <summary>The attention's tuple used in place: <c>attn(...).Item1 + x</c> in one expression, and <c>return out + identity</c>.</summary>
[HyperConnected]
public sealed partial class TupleItemLayer : Module<Tensor, Tensor?, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly SelfAttention attn;
    private readonly Linear fc_in, fc_out;

    public TupleItemLayer(long dim, long heads) : base(nameof(TupleItemLayer))
    {
        ln_1 = LayerNorm(dim);
        attn = new SelfAttention(dim, heads);
        ln_2 = LayerNorm(dim);
        fc_in = Linear(dim, 3 * dim);
        fc_out = Linear(3 * dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor? mask)
    {
        x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h), mask).Item1);   // expect: MHC0001
        return hc_fc_out.forward(x, h =>
        {
            var @out = ln_2.forward(h);
            @out = fc_out.forward(functional.gelu(fc_in.forward(@out)));
            return @out;
        });   // expect: MHC0001
    }
}

public sealed class ResidualNamesModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly ModuleList<MhaLayer> mha_layers;
    private readonly ModuleList<TupleItemLayer> item_layers;
    private readonly LayerNorm norm;
    private readonly Linear lm_head;

    public ResidualNamesModel(long vocab_size = 32, long hidden_size = 16) : base(nameof(ResidualNamesModel))
    {
        embed_tokens = Embedding(vocab_size, hidden_size);
        layers = new ModuleList<DecoderLayer>(new DecoderLayer(hidden_size, 2, 40), new DecoderLayer(hidden_size, 2, 40));
        mha_layers = new ModuleList<MhaLayer>(new MhaLayer(hidden_size, 2), new MhaLayer(hidden_size, 4));
        item_layers = new ModuleList<TupleItemLayer>(new TupleItemLayer(hidden_size, 2), new TupleItemLayer(hidden_size, 2));
        norm = LayerNorm(hidden_size);
        lm_head = Linear(hidden_size, vocab_size, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor input_ids)
    {
        var t = input_ids.shape[1];
        using var causal_mask = ones(t, t, dtype: ScalarType.Bool).triu(1).view(1, 1, t, t);
        var hidden_states = embed_tokens.forward(input_ids);
        hidden_states = HyperStreams.Expand(hidden_states, DecoderLayer.HyperConnectionStreams);
        hidden_states = HyperStreams.Run(hidden_states, layers, (decoder_layer, streams) => decoder_layer.forward(streams, causal_mask));
        hidden_states = HyperStreams.Run(hidden_states, mha_layers, (layer, streams) => layer.forward(streams));
        hidden_states = HyperStreams.Run(hidden_states, item_layers, (layer, streams) => layer.forward(streams, causal_mask));
        hidden_states = HyperStreams.Reduce(hidden_states);
        hidden_states = norm.forward(hidden_states);
        return lm_head.forward(hidden_states);
    }
}

public static class Harness
{
    public static Module Create() => new ResidualNamesModel();

    public static Tensor Run(Module model)
    {
        using var ids = arange(0, 18, dtype: ScalarType.Int64).view(2, 9).mul(5).remainder(32);
        return ((ResidualNamesModel)model).forward(ids);
    }
}
