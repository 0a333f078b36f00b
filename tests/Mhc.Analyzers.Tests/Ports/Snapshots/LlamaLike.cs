using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.LlamaLike;

public sealed class LlamaConfig
{
    public int VocabSize { get; set; } = 32;
    public int HiddenSize { get; set; } = 16;
    public int IntermediateSize { get; set; } = 40;
    public int NumHiddenLayers { get; set; } = 2;
    public int NumAttentionHeads { get; set; } = 4;
    public int NumKeyValueHeads { get; set; } = 2;
    public double RmsNormEps { get; set; } = 1e-6;
    public double RopeTheta { get; set; } = 10000.0;

    public int HeadDim => HiddenSize / NumAttentionHeads;
}

/// <summary>Keys and values of every layer seen so far, grown by one step per decoding call.</summary>
public sealed class KvCache
{
    private readonly Tensor?[] keys;
    private readonly Tensor?[] values;

    public KvCache(int layers)
    {
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    public long SeqLength(int layerIdx) => keys[layerIdx] is { } k ? k.shape[2] : 0;

    public (Tensor Keys, Tensor Values) Update(Tensor key, Tensor value, int layerIdx)
    {
        var k = keys[layerIdx] is { } pastK ? cat(new[] { pastK, key }, 2) : key.alias();
        var v = values[layerIdx] is { } pastV ? cat(new[] { pastV, value }, 2) : value.alias();
        // The cache outlives the dispose scope of the layer that fills it.
        keys[layerIdx]?.Dispose();
        values[layerIdx]?.Dispose();
        keys[layerIdx] = k.DetachFromDisposeScope();
        values[layerIdx] = v.DetachFromDisposeScope();
        return (k, v);
    }
}

public class RmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly double variance_epsilon;

    public RmsNorm(long hiddenSize, double eps = 1e-6) : base(nameof(RmsNorm))
    {
        weight = Parameter(ones(hiddenSize));
        variance_epsilon = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates)
    {
        using var scope = NewDisposeScope();
        var variance = hiddenStates.pow(2).mean(new long[] { -1 }, keepdim: true);
        var normed = hiddenStates * rsqrt(variance + variance_epsilon);
        return (weight * normed).MoveToOuterDisposeScope();
    }
}

internal sealed class RotaryEmbedding : Module<Tensor, (Tensor Cos, Tensor Sin)>
{
    private readonly Tensor inv_freq;

    public RotaryEmbedding(LlamaConfig config) : base(nameof(RotaryEmbedding))
    {
        var exponents = arange(0, config.HeadDim, 2, dtype: ScalarType.Float32) / config.HeadDim;
        inv_freq = 1.0 / pow(tensor(config.RopeTheta, dtype: ScalarType.Float32), exponents);
        register_buffer("inv_freq", inv_freq, persistent: false);
    }

    /// <param name="positionIds">[B, T] absolute positions.</param>
    public override (Tensor Cos, Tensor Sin) forward(Tensor positionIds)
    {
        var freqs = positionIds.to_type(ScalarType.Float32).unsqueeze(-1) * inv_freq;
        var emb = cat(new[] { freqs, freqs }, -1);
        return (emb.cos().unsqueeze(1), emb.sin().unsqueeze(1));
    }
}

public sealed record AttentionInput(Tensor HiddenStates, Tensor? AttentionMask, Tensor PositionIds, KvCache? Cache, int LayerIdx);

public sealed record AttentionOutput(Tensor HiddenStates, KvCache? Cache);

internal sealed class LlamaAttention : Module<AttentionInput, AttentionOutput>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly RotaryEmbedding rotary_emb;
    private readonly int numHeads, numKvHeads, headDim;

    public LlamaAttention(LlamaConfig config) : base(nameof(LlamaAttention))
    {
        numHeads = config.NumAttentionHeads;
        numKvHeads = config.NumKeyValueHeads;
        headDim = config.HeadDim;
        q_proj = Linear(config.HiddenSize, numHeads * headDim, hasBias: false);
        k_proj = Linear(config.HiddenSize, numKvHeads * headDim, hasBias: false);
        v_proj = Linear(config.HiddenSize, numKvHeads * headDim, hasBias: false);
        o_proj = Linear(numHeads * headDim, config.HiddenSize, hasBias: false);
        rotary_emb = new RotaryEmbedding(config);
        RegisterComponents();
    }

    private static Tensor RotateHalf(Tensor x)
    {
        var halves = x.chunk(2, -1);
        return cat(new[] { -halves[1], halves[0] }, -1);
    }

    private Tensor RepeatKv(Tensor states)
    {
        var groups = numHeads / numKvHeads;
        return groups == 1 ? states : states.repeat_interleave(groups, dim: 1);
    }

    public override AttentionOutput forward(AttentionInput input)
    {
        var hiddenStates = input.HiddenStates;
        var (bsz, qLen) = (hiddenStates.shape[0], hiddenStates.shape[1]);

        var q = q_proj.forward(hiddenStates).view(bsz, qLen, numHeads, headDim).transpose(1, 2);
        var k = k_proj.forward(hiddenStates).view(bsz, qLen, numKvHeads, headDim).transpose(1, 2);
        var v = v_proj.forward(hiddenStates).view(bsz, qLen, numKvHeads, headDim).transpose(1, 2);

        var (cos, sin) = rotary_emb.forward(input.PositionIds);
        q = q * cos + RotateHalf(q) * sin;   // not residual: rotary position terms
        k = k * cos + RotateHalf(k) * sin;   // not residual: rotary position terms

        if (input.Cache is not null)
        {
            (k, v) = input.Cache.Update(k, v, input.LayerIdx);
        }

        k = RepeatKv(k);
        v = RepeatKv(v);
        var attnWeights = matmul(q, k.transpose(2, 3)) / Math.Sqrt(headDim);
        var mask = input.AttentionMask;
        if (mask is not null)
        {
            attnWeights = attnWeights + mask;   // not residual: additive attention mask
        }

        attnWeights = functional.softmax(attnWeights, -1);
        var attnOutput = matmul(attnWeights, v).transpose(1, 2).contiguous().reshape(bsz, qLen, numHeads * headDim);
        return new AttentionOutput(o_proj.forward(attnOutput), input.Cache);
    }
}

internal sealed class LlamaMlp : Module<Tensor, Tensor>
{
    private readonly Linear gate_proj, up_proj, down_proj;

    public LlamaMlp(LlamaConfig config) : base(nameof(LlamaMlp))
    {
        gate_proj = Linear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        up_proj = Linear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        down_proj = Linear(config.IntermediateSize, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down_proj.forward(functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
}

public sealed class DecoderInput
{
    public DecoderInput(Tensor hiddenStates, Tensor? attentionMask, Tensor positionIds, KvCache? cache)
    {
        HiddenStates = hiddenStates;
        AttentionMask = attentionMask;
        PositionIds = positionIds;
        Cache = cache;
    }

    public Tensor HiddenStates { get; }
    public Tensor? AttentionMask { get; }
    public Tensor PositionIds { get; }
    public KvCache? Cache { get; }
}

public sealed record DecoderOutput(Tensor HiddenStates, KvCache? Cache);

[HyperConnected]
internal partial class DecoderLayer : Module<DecoderInput, DecoderOutput>
{
    private readonly LlamaAttention self_attn;
    private readonly LlamaMlp mlp;
    private readonly RmsNorm input_layernorm;
    private readonly RmsNorm post_attention_layernorm;
    private readonly int layerIdx;

    public DecoderLayer(LlamaConfig config, int layerIdx) : base(nameof(DecoderLayer))
    {
        this.layerIdx = layerIdx;
        self_attn = new LlamaAttention(config);
        mlp = new LlamaMlp(config);
        input_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        InitializeHyperConnections(channels: config.HiddenSize);
        RegisterComponents();
    }

    public override DecoderOutput forward(DecoderInput input)
    {
        using var scope = NewDisposeScope();
        AttentionOutput? attnOut = default!;
        var hidden = hc_self_attn.forward(input.HiddenStates, h =>
        {
            h = input_layernorm.forward(h);
            attnOut = self_attn.forward(new AttentionInput(h, input.AttentionMask, input.PositionIds, input.Cache, layerIdx));
            return attnOut.HiddenStates;
        });   // expect: MHC0001

        hidden = hc_mlp.forward(hidden, h =>
        {
            h = post_attention_layernorm.forward(h);
            h = mlp.forward(h);
            return h;
        });   // expect: MHC0001
        return new DecoderOutput(hidden.MoveToOuterDisposeScope(), attnOut.Cache);
    }
}

public sealed record CausalLmOutput(Tensor Logits, KvCache Cache, IReadOnlyList<Tensor> HiddenStates);

public sealed class LlamaForCausalLM : Module<Tensor, KvCache?, CausalLmOutput>
{
    private readonly Embedding embed_tokens;
    private readonly ModuleList<DecoderLayer> layers;
    private readonly RmsNorm norm;
    private readonly Linear lm_head;

    public LlamaForCausalLM(LlamaConfig config) : base(nameof(LlamaForCausalLM))
    {
        embed_tokens = Embedding(config.VocabSize, config.HiddenSize);
        layers = new ModuleList<DecoderLayer>();
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            layers.Add(new DecoderLayer(config, i));
        }

        norm = new RmsNorm(config.HiddenSize, config.RmsNormEps);
        lm_head = Linear(config.HiddenSize, config.VocabSize, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    private static Tensor? CausalMask(long queryLength, long pastLength)
    {
        if (queryLength == 1)
        {
            return null;   // one new token attends to everything cached
        }

        var total = pastLength + queryLength;
        var blocked = ones(queryLength, total, dtype: ScalarType.Bool).triu(pastLength + 1);
        return zeros(queryLength, total).masked_fill(blocked, float.NegativeInfinity).view(1, 1, queryLength, total);
    }

    public override CausalLmOutput forward(Tensor inputIds, KvCache? cache)
    {
        using var scope = NewDisposeScope();
        cache ??= new KvCache(layers.Count);
        var pastLength = cache.SeqLength(0);
        var seqLength = inputIds.shape[1];
        var positionIds = arange(pastLength, pastLength + seqLength, dtype: ScalarType.Int64).unsqueeze(0);
        var mask = CausalMask(seqLength, pastLength);

        var hiddenStates = embed_tokens.forward(inputIds);
        var allHiddenStates = new List<Tensor>();
        hiddenStates = HyperStreams.Expand(hiddenStates, DecoderLayer.HyperConnectionStreams);
        for (int i = 0; i < layers.Count; i++)
        {
            var layerInput = new DecoderInput(hiddenStates, mask, positionIds, cache);
            var layerOutput = layers[i].forward(layerInput);
            hiddenStates = layerOutput.HiddenStates;
            cache = layerOutput.Cache ?? cache;
            allHiddenStates.Add(HyperStreams.Reduce(hiddenStates));
        }
        hiddenStates = HyperStreams.Reduce(hiddenStates);

        hiddenStates = norm.forward(hiddenStates);
        var logits = lm_head.forward(hiddenStates);
        return new CausalLmOutput(
            logits.MoveToOuterDisposeScope(),
            cache,
            allHiddenStates.Select(h => h.MoveToOuterDisposeScope()).ToList());
    }
}

public static class Harness
{
    public static torch.nn.Module Create() => new LlamaForCausalLM(new LlamaConfig());

    /// <summary>A prompt, then two decoding steps that reuse the KV cache, token by token.</summary>
    public static torch.Tensor Run(torch.nn.Module model)
    {
        var lm = (LlamaForCausalLM)model;
        using var prompt = tensor(new long[] { 3, 14, 15, 9, 2, 6, 5, 3, 5, 8, 9, 7 }).view(2, 6);
        var first = lm.forward(prompt, null);
        using var step1 = tensor(new long[] { 27, 18 }).view(2, 1);
        var second = lm.forward(step1, first.Cache);
        using var step2 = tensor(new long[] { 28, 1 }).view(2, 1);
        var third = lm.forward(step2, second.Cache);

        // Every layer's hidden states of the prompt are part of what the model returns.
        var parts = new List<Tensor> { first.Logits.flatten(), second.Logits.flatten(), third.Logits.flatten() };
        parts.AddRange(first.HiddenStates.Select(h => h.flatten()));
        return cat(parts, 0);
    }
}
