using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// A T5-style encoder-decoder: the encoder stack runs in Encode, the decoder stack in Decode; each decoder
// block has three residual sites, the middle one cross-attending to the encoder's output (a second input).
namespace Ports.EncoderDecoder;

public sealed class T5Config
{
    public int vocab_size = 32;
    public int d_model = 16;
    public int d_kv = 8;
    public int d_ff = 32;
    public int num_layers = 2;
    public int num_decoder_layers = 2;
    public int num_heads = 2;
    public double dropout_rate = 0.1;
    public double layer_norm_epsilon = 1e-6;
}

/// <summary>T5's norm: scale only, no mean subtraction, no bias.</summary>
public sealed class T5LayerNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double variance_epsilon;

    public T5LayerNorm(long hidden_size, double eps = 1e-6) : base(nameof(T5LayerNorm))
    {
        weight = Parameter(ones(hidden_size));
        variance_epsilon = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        var variance = hidden_states.pow(2).mean(new long[] { -1 }, keepdim: true);
        return weight * (hidden_states * rsqrt(variance + variance_epsilon));
    }
}

/// <summary>Queries from one sequence, keys and values from another (the same one for self-attention).</summary>
public sealed class T5Attention : Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly Linear q, k, v, o;
    private readonly int n_heads, key_value_proj_dim;

    public T5Attention(T5Config config) : base(nameof(T5Attention))
    {
        n_heads = config.num_heads;
        key_value_proj_dim = config.d_kv;
        var inner_dim = n_heads * key_value_proj_dim;
        q = Linear(config.d_model, inner_dim, hasBias: false);
        k = Linear(config.d_model, inner_dim, hasBias: false);
        v = Linear(config.d_model, inner_dim, hasBias: false);
        o = Linear(inner_dim, config.d_model, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor key_value_states, Tensor? mask)
    {
        var batch = hidden_states.shape[0];
        Tensor Shape(Tensor states) => states.view(batch, -1, n_heads, key_value_proj_dim).transpose(1, 2);
        var query_states = Shape(q.forward(hidden_states));
        var key_states = Shape(k.forward(key_value_states));
        var value_states = Shape(v.forward(key_value_states));
        var scores = query_states.matmul(key_states.transpose(3, 2));   // T5 does not scale
        if (mask is not null)
            scores = scores.masked_fill(mask, float.NegativeInfinity);
        var attn_weights = functional.softmax(scores, -1);
        var attn_output = attn_weights.matmul(value_states).transpose(1, 2).contiguous().view(batch, -1, n_heads * key_value_proj_dim);
        return o.forward(attn_output);
    }
}

public sealed class T5DenseActDense : Module<Tensor, Tensor>
{
    private readonly Linear wi, wo;
    private readonly Dropout dropout;

    public T5DenseActDense(T5Config config) : base(nameof(T5DenseActDense))
    {
        wi = Linear(config.d_model, config.d_ff, hasBias: false);
        wo = Linear(config.d_ff, config.d_model, hasBias: false);
        dropout = Dropout(config.dropout_rate);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states) => wo.forward(dropout.forward(functional.relu(wi.forward(hidden_states))));
}

[HyperConnected]
public sealed partial class T5EncoderBlock : Module<Tensor, Tensor?, Tensor>
{
    private readonly T5LayerNorm self_attention_norm, ff_norm;
    private readonly T5Attention self_attention;
    private readonly T5DenseActDense ff;
    private readonly Dropout dropout;

    public T5EncoderBlock(T5Config config) : base(nameof(T5EncoderBlock))
    {
        self_attention_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        self_attention = new T5Attention(config);
        ff_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        ff = new T5DenseActDense(config);
        dropout = Dropout(config.dropout_rate);
        InitializeHyperConnections(channels: config.d_model);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor? padding_mask)
    {
        hidden_states = hc_self_attention.forward(hidden_states, h =>
        {
            var normed = self_attention_norm.forward(h);
            return dropout.forward(self_attention.forward(normed, normed, padding_mask));
        });   // expect: MHC0001
        hidden_states = hc_ff.forward(hidden_states, h => dropout.forward(ff.forward(ff_norm.forward(h))));   // expect: MHC0001
        return hidden_states;
    }
}

/// <summary>Self-attention, cross-attention to the encoder output, feed-forward: three residual sites.</summary>
[HyperConnected]
public sealed partial class T5DecoderBlock : Module<Tensor, Tensor, Tensor?, Tensor>
{
    private readonly T5LayerNorm self_attention_norm, cross_attention_norm, ff_norm;
    private readonly T5Attention self_attention, cross_attention;
    private readonly T5DenseActDense ff;
    private readonly Dropout dropout;

    public T5DecoderBlock(T5Config config) : base(nameof(T5DecoderBlock))
    {
        self_attention_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        self_attention = new T5Attention(config);
        cross_attention_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        cross_attention = new T5Attention(config);
        ff_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        ff = new T5DenseActDense(config);
        dropout = Dropout(config.dropout_rate);
        InitializeHyperConnections(channels: config.d_model);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor context, Tensor? causal_mask)
    {
        x = hc_self_attention.forward(x, s =>
        {
            var h = self_attention_norm.forward(s);
            return dropout.forward(self_attention.forward(h, h, causal_mask));
        });   // expect: MHC0001
        x = hc_cross_attention.forward(x, s => dropout.forward(cross_attention.forward(cross_attention_norm.forward(s), context, null)));   // expect: MHC0001
        x = hc_ff.forward(x, s => dropout.forward(ff.forward(ff_norm.forward(s))));   // expect: MHC0001
        return x;
    }
}

public sealed class T5ForConditionalGeneration : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding shared;
    private readonly ModuleList<T5EncoderBlock> encoder_block;
    private readonly T5LayerNorm encoder_final_layer_norm;
    private readonly ModuleList<T5DecoderBlock> decoder_block;
    private readonly T5LayerNorm decoder_final_layer_norm;
    private readonly Linear lm_head;
    private readonly Dropout dropout;
    private readonly int model_dim;

    public T5ForConditionalGeneration(T5Config config) : base(nameof(T5ForConditionalGeneration))
    {
        model_dim = config.d_model;
        shared = Embedding(config.vocab_size, config.d_model);
        encoder_block = new ModuleList<T5EncoderBlock>(Enumerable.Range(0, config.num_layers).Select(_ => new T5EncoderBlock(config)).ToArray());
        encoder_final_layer_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        decoder_block = new ModuleList<T5DecoderBlock>(Enumerable.Range(0, config.num_decoder_layers).Select(_ => new T5DecoderBlock(config)).ToArray());
        decoder_final_layer_norm = new T5LayerNorm(config.d_model, config.layer_norm_epsilon);
        lm_head = Linear(config.d_model, config.vocab_size, hasBias: false);
        dropout = Dropout(config.dropout_rate);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public Tensor Encode(Tensor input_ids, Tensor? padding_mask)
    {
        var hidden_states = dropout.forward(shared.forward(input_ids));
        hidden_states = HyperStreams.Expand(hidden_states, T5EncoderBlock.HyperConnectionStreams);
        hidden_states = HyperStreams.Run(hidden_states, encoder_block, (layer_module, streams) => layer_module.forward(streams, padding_mask));
        hidden_states = HyperStreams.Reduce(hidden_states);
        hidden_states = encoder_final_layer_norm.forward(hidden_states);
        return dropout.forward(hidden_states);
    }

    public Tensor Decode(Tensor decoder_input_ids, Tensor encoder_hidden_states)
    {
        var t = decoder_input_ids.shape[1];
        using var causal_mask = ones(t, t, dtype: ScalarType.Bool).triu(1).view(1, 1, t, t);
        var hidden_states = dropout.forward(shared.forward(decoder_input_ids));
        hidden_states = HyperStreams.Expand(hidden_states, T5DecoderBlock.HyperConnectionStreams);
        hidden_states = HyperStreams.Run(hidden_states, decoder_block, (block, streams) => block.forward(streams, encoder_hidden_states, causal_mask));
        hidden_states = HyperStreams.Reduce(hidden_states);

        hidden_states = dropout.forward(decoder_final_layer_norm.forward(hidden_states));
        // Tied embeddings are rescaled before the head.
        return lm_head.forward(hidden_states * Math.Pow(model_dim, -0.5));
    }

    public override Tensor forward(Tensor input_ids, Tensor decoder_input_ids)
    {
        using var padding_mask = input_ids.eq(0).view(input_ids.shape[0], 1, 1, input_ids.shape[1]);
        var encoder_outputs = Encode(input_ids, padding_mask);
        return Decode(decoder_input_ids, encoder_outputs);
    }
}

public static class Harness
{
    public static Module Create() => new T5ForConditionalGeneration(new T5Config());

    public static Tensor Run(Module model)
    {
        var t5 = (T5ForConditionalGeneration)model;
        using var input_ids = tensor(new long[] { 5, 17, 3, 9, 1, 0, 12, 4, 28, 7, 19, 1 }).view(2, 6);
        using var decoder_input_ids = tensor(new long[] { 0, 8, 21, 2, 0, 30, 6, 11 }).view(2, 4);
        return t5.forward(input_ids, decoder_input_ids);
    }
}
