using System;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.ClipLike;

public sealed record ClipTextConfig(
    int VocabSize = 32,
    int HiddenSize = 16,
    int IntermediateSize = 64,
    int NumHiddenLayers = 2,
    int NumAttentionHeads = 2,
    int MaxPositionEmbeddings = 12,
    int ProjectionDim = 8,
    double LayerNormEps = 1e-5);

public sealed class ClipAttention : Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear k_proj, v_proj, q_proj, out_proj;
    private readonly int numHeads, headDim;
    private readonly double scale;

    public ClipAttention(ClipTextConfig config) : base(nameof(ClipAttention))
    {
        numHeads = config.NumAttentionHeads;
        headDim = config.HiddenSize / numHeads;
        scale = Math.Pow(headDim, -0.5);
        k_proj = Linear(config.HiddenSize, config.HiddenSize);
        v_proj = Linear(config.HiddenSize, config.HiddenSize);
        q_proj = Linear(config.HiddenSize, config.HiddenSize);
        out_proj = Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hiddenStates, Tensor? attentionMask)
    {
        var bsz = hiddenStates.shape[0];
        var tgtLen = hiddenStates.shape[1];
        Tensor Shape(Tensor t) => t.view(bsz, -1, numHeads, headDim).transpose(1, 2);

        var query = Shape(q_proj.forward(hiddenStates) * scale);
        var key = Shape(k_proj.forward(hiddenStates));
        var value = Shape(v_proj.forward(hiddenStates));
        var weights = matmul(query, key.transpose(-1, -2));
        if (attentionMask is not null)
            weights += attentionMask;   // not residual: additive causal and padding mask
        weights = functional.softmax(weights, -1);
        var output = matmul(weights, value).transpose(1, 2).reshape(bsz, tgtLen, numHeads * headDim);
        return out_proj.forward(output);
    }
}

public sealed class ClipMlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public ClipMlp(ClipTextConfig config) : base(nameof(ClipMlp))
    {
        fc1 = Linear(config.HiddenSize, config.IntermediateSize);
        fc2 = Linear(config.IntermediateSize, config.HiddenSize);
        RegisterComponents();
    }

    private static Tensor QuickGelu(Tensor x) => x * functional.sigmoid(1.702 * x);

    public override Tensor forward(Tensor x) => fc2.forward(QuickGelu(fc1.forward(x)));
}

[HyperConnected]
public sealed partial class ClipEncoderLayer : Module<Tensor, Tensor?, Tensor>
{
    private readonly ClipAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly ClipMlp mlp;
    private readonly LayerNorm layer_norm2;

    public ClipEncoderLayer(ClipTextConfig config) : base(nameof(ClipEncoderLayer))
    {
        self_attn = new ClipAttention(config);
        layer_norm1 = LayerNorm(config.HiddenSize, config.LayerNormEps);
        mlp = new ClipMlp(config);
        layer_norm2 = LayerNorm(config.HiddenSize, config.LayerNormEps);
        InitializeHyperConnections(channels: config.HiddenSize);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor? mask)
    {
        x = hc_self_attn.forward(x, h =>
        {
            h = layer_norm1.forward(h);
            h = self_attn.forward(h, mask);
            return h;
        });   // expect: MHC0001

        x = hc_mlp.forward(x, h => mlp.forward(layer_norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class ClipEncoder : Module<Tensor, Tensor?, Tensor>
{
    private readonly ClipEncoderLayer[] layers;

    public ClipEncoder(ClipTextConfig config) : base(nameof(ClipEncoder))
    {
        layers = new ClipEncoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < layers.Length; i++)
        {
            layers[i] = new ClipEncoderLayer(config);
            register_module($"layers_{i}", layers[i]);
        }
    }

    public override Tensor forward(Tensor inputsEmbeds, Tensor? attentionMask)
    {
        var hiddenStates = inputsEmbeds;
        hiddenStates = HyperStreams.Expand(hiddenStates, ClipEncoderLayer.HyperConnectionStreams);
        hiddenStates = HyperStreams.Run(hiddenStates, layers, (block, streams) => block.forward(streams, attentionMask));
        hiddenStates = HyperStreams.Reduce(hiddenStates);

        return hiddenStates;
    }
}

public sealed class ClipTextEmbeddings : Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding, position_embedding;
    private readonly Tensor position_ids;

    public ClipTextEmbeddings(ClipTextConfig config) : base(nameof(ClipTextEmbeddings))
    {
        token_embedding = Embedding(config.VocabSize, config.HiddenSize);
        position_embedding = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        position_ids = arange(config.MaxPositionEmbeddings, dtype: ScalarType.Int64).unsqueeze(0);
        register_buffer("position_ids", position_ids, persistent: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputIds)
    {
        var positionIds = position_ids.narrow(1, 0, inputIds.shape[1]);
        var inputsEmbeds = token_embedding.forward(inputIds);
        var positionEmbeds = position_embedding.forward(positionIds);
        return inputsEmbeds + positionEmbeds;   // not residual: token and position embeddings
    }
}

/// <summary>The text tower: last hidden states and the projected features of each sequence's end token.</summary>
public sealed class ClipTextModel : Module<Tensor, Tensor, (Tensor LastHiddenState, Tensor TextEmbeds)>
{
    private readonly ClipTextEmbeddings embeddings;
    private readonly ClipEncoder encoder;
    private readonly LayerNorm final_layer_norm;
    private readonly Linear text_projection;

    public ClipTextModel(ClipTextConfig config) : base(nameof(ClipTextModel))
    {
        embeddings = new ClipTextEmbeddings(config);
        encoder = new ClipEncoder(config);
        final_layer_norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        text_projection = Linear(config.HiddenSize, config.ProjectionDim, hasBias: false);
        RegisterComponents();
    }

    public override (Tensor LastHiddenState, Tensor TextEmbeds) forward(Tensor inputIds, Tensor paddingMask)
    {
        var (bsz, seqLen) = (inputIds.shape[0], inputIds.shape[1]);
        var hiddenStates = embeddings.forward(inputIds);

        var causal = full(seqLen, seqLen, float.NegativeInfinity).triu(1).view(1, 1, seqLen, seqLen);
        var padding = zeros(bsz, 1, 1, seqLen).masked_fill(paddingMask.logical_not().view(bsz, 1, 1, seqLen), float.NegativeInfinity);
        var mask = causal + padding;   // not residual: two masks combined

        hiddenStates = encoder.forward(hiddenStates, mask);
        hiddenStates = final_layer_norm.forward(hiddenStates);

        var eos = paddingMask.to_type(ScalarType.Int64).sum(1L).sub(1);
        var pooled = hiddenStates[arange(bsz, dtype: ScalarType.Int64), eos];
        return (hiddenStates, text_projection.forward(pooled));
    }
}

public static class Harness
{
    public static Module Create() => new ClipTextModel(new ClipTextConfig());

    public static Tensor Run(Module model)
    {
        var clip = (ClipTextModel)model;
        using var ids = tensor(new long[] { 1, 9, 4, 22, 2, 0, 1, 17, 30, 5, 11, 2 }).view(2, 6);
        using var attention = tensor(new[] { true, true, true, true, true, false, true, true, true, true, true, true }).view(2, 6);
        var (last, embeds) = clip.forward(ids, attention);
        return cat(new[] { last.flatten(), embeds.flatten() }, 0);
    }
}
