using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ports.PhiLike;

public sealed class PhiConfig
{
    public int vocab_size = 32;
    public int hidden_size = 24;
    public int intermediate_size = 48;
    public int num_hidden_layers = 2;
    public int num_attention_heads = 4;
    public double layer_norm_eps = 1e-5;
    public double resid_pdrop = 0.1;
    public double embd_pdrop = 0.1;
}

public sealed class PhiAttention : nn.Module<Tensor, Tensor?, (Tensor Output, Tensor? Weights)>
{
    private readonly Linear q_proj, k_proj, v_proj, dense;
    private readonly int numHeads, headDim;

    public PhiAttention(PhiConfig config) : base(nameof(PhiAttention))
    {
        numHeads = config.num_attention_heads;
        headDim = config.hidden_size / numHeads;
        q_proj = nn.Linear(config.hidden_size, config.hidden_size);
        k_proj = nn.Linear(config.hidden_size, config.hidden_size);
        v_proj = nn.Linear(config.hidden_size, config.hidden_size);
        dense = nn.Linear(config.hidden_size, config.hidden_size);
        RegisterComponents();
    }

    public override (Tensor Output, Tensor? Weights) forward(Tensor x, Tensor? mask)
    {
        long b = x.shape[0], t = x.shape[1];
        Tensor Heads(Tensor projected) => projected.view(b, t, numHeads, headDim).transpose(1, 2);
        var q = Heads(q_proj.forward(x));
        var k = Heads(k_proj.forward(x));
        var v = Heads(v_proj.forward(x));
        var scores = q.matmul(k.transpose(-1, -2)) * (1.0 / Math.Sqrt(headDim));
        if (mask is not null)
        {
            scores = scores.masked_fill(mask, float.NegativeInfinity);
        }

        var weights = nn.functional.softmax(scores, -1);
        var output = weights.matmul(v).transpose(1, 2).reshape(b, t, numHeads * headDim);
        return (dense.forward(output), weights);
    }
}

public sealed class PhiMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public PhiMlp(PhiConfig config) : base(nameof(PhiMlp))
    {
        fc1 = nn.Linear(config.hidden_size, config.intermediate_size);
        fc2 = nn.Linear(config.intermediate_size, config.hidden_size);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(nn.functional.gelu(fc1.forward(x), GELU.Approximate.tanh));
}

/// <summary>Attention and MLP side by side on one shared norm, added to the residual together.</summary>
[HyperConnected]
public sealed partial class PhiLayer : nn.Module<Tensor, Tensor?, int, (Tensor Hidden, Tensor? Attention)>
{
    private readonly LayerNorm input_layernorm;
    private readonly PhiAttention self_attn;
    private readonly PhiMlp mlp;
    private readonly Dropout resid_dropout;
    private readonly int lastLayer;

    public PhiLayer(PhiConfig config, int layerIdx) : base($"PhiLayer{layerIdx}")
    {
        input_layernorm = nn.LayerNorm(config.hidden_size, config.layer_norm_eps);
        self_attn = new PhiAttention(config);
        mlp = new PhiMlp(config);
        resid_dropout = nn.Dropout(config.resid_pdrop);
        lastLayer = config.num_hidden_layers - 1;
        InitializeHyperConnections(channels: config.hidden_size);
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor? Attention) forward(Tensor x, Tensor? mask, int layerIdx)
    {
        Tensor? weights = default!;
        x = hc_self_attn_mlp.forward(x, h =>
        {
            h = input_layernorm.forward(h);
            (var attn, weights) = self_attn.forward(h, mask);
            attn = resid_dropout.forward(attn);
            var ff = resid_dropout.forward(mlp.forward(h));
            return attn + ff;
        });   // expect: MHC0001
        return (x, layerIdx == lastLayer ? weights : null);
    }
}

public sealed class PhiForCausalLM : nn.Module<Tensor, Tensor>
{
    private readonly Embedding embed_tokens;
    private readonly Dropout embed_dropout;
    private readonly ModuleList<PhiLayer> layers;
    private readonly LayerNorm final_layernorm;
    private readonly Linear lm_head;

    public PhiForCausalLM(PhiConfig config) : base(nameof(PhiForCausalLM))
    {
        embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size);
        embed_dropout = nn.Dropout(config.embd_pdrop);
        layers = new ModuleList<PhiLayer>(Enumerable.Range(0, config.num_hidden_layers).Select(i => new PhiLayer(config, i)).ToArray());
        final_layernorm = nn.LayerNorm(config.hidden_size, config.layer_norm_eps);
        lm_head = nn.Linear(config.hidden_size, config.vocab_size);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor inputIds)
    {
        var t = inputIds.shape[1];
        using var mask = ones(t, t, dtype: ScalarType.Bool).triu(1).view(1, 1, t, t);
        var x = embed_dropout.forward(embed_tokens.forward(inputIds));
        x = HyperStreams.Expand(x, PhiLayer.HyperConnectionStreams);
        for (int i = 0; i < layers.Count; i++)
            (x, _) = layers[i].forward(x, mask, i);
        x = HyperStreams.Reduce(x);
        return lm_head.forward(final_layernorm.forward(x));
    }
}

public static class Harness
{
    public static nn.Module Create() => new PhiForCausalLM(new PhiConfig());

    public static Tensor Run(nn.Module model)
    {
        var phi = (PhiForCausalLM)model;
        using var ids = arange(0, 14, dtype: ScalarType.Int64).view(2, 7).mul(5).remainder(32);
        using var shorter = arange(3, 9, dtype: ScalarType.Int64).view(2, 3);
        return cat(new[] { phi.forward(ids).flatten(), phi.forward(shorter).flatten() }, 0);
    }
}
