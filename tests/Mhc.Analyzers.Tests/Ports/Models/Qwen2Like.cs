using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.Qwen2Like;

public class Qwen2Config
{
    public int HiddenSize { get; set; } = 64;
    public int IntermediateSize { get; set; } = 128;
    public int NumHiddenLayers { get; set; } = 2;
    public int NumAttentionHeads { get; set; } = 4;
    public int VocabSize { get; set; } = 100;
    public float RmsNormEps { get; set; } = 1e-6f;
}

public class Qwen2RMSNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly float eps;
    public Qwen2RMSNorm(int hiddenSize, float eps = 1e-6f) : base(nameof(Qwen2RMSNorm))
    {
        weight = Parameter(torch.ones(hiddenSize));
        this.eps = eps;
        RegisterComponents();
    }
    public override Tensor forward(Tensor hidden_states)
    {
        var variance = hidden_states.pow(2).mean(new long[] { -1 }, keepdim: true);
        hidden_states = hidden_states * torch.rsqrt(variance + eps);
        return weight * hidden_states;
    }
}

public class Qwen2MLP : Module<Tensor, Tensor>
{
    private readonly Linear gate_proj, up_proj, down_proj;
    public Qwen2MLP(Qwen2Config config) : base(nameof(Qwen2MLP))
    {
        gate_proj = Linear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        up_proj = Linear(config.HiddenSize, config.IntermediateSize, hasBias: false);
        down_proj = Linear(config.IntermediateSize, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }
    public override Tensor forward(Tensor x) => down_proj.forward(functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
}

public class Qwen2Attention : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear q_proj, k_proj, v_proj, o_proj;
    private readonly int heads;
    public Qwen2Attention(Qwen2Config config) : base(nameof(Qwen2Attention))
    {
        heads = config.NumAttentionHeads;
        q_proj = Linear(config.HiddenSize, config.HiddenSize);
        k_proj = Linear(config.HiddenSize, config.HiddenSize);
        v_proj = Linear(config.HiddenSize, config.HiddenSize);
        o_proj = Linear(config.HiddenSize, config.HiddenSize, hasBias: false);
        RegisterComponents();
    }
    public override Tensor forward(Tensor hiddenStates, Tensor attentionMask)
    {
        var (b, t, c) = (hiddenStates.shape[0], hiddenStates.shape[1], hiddenStates.shape[2]);
        var q = q_proj.forward(hiddenStates).view(b, t, heads, -1).transpose(1, 2);
        var k = k_proj.forward(hiddenStates).view(b, t, heads, -1).transpose(1, 2);
        var v = v_proj.forward(hiddenStates).view(b, t, heads, -1).transpose(1, 2);
        var scores = torch.matmul(q, k.transpose(2, 3)) / Math.Sqrt(c / heads);
        scores = scores + attentionMask;   // not residual: a mask added to scores
        var probs = functional.softmax(scores, dim: -1);
        var o = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, c);
        return o_proj.forward(o);
    }
}

public class Qwen2DecoderLayer : Module<Tensor, Tensor, Tensor>
{
    private readonly Qwen2Attention self_attn;
    private readonly Qwen2MLP mlp;
    private readonly Qwen2RMSNorm input_layernorm;
    private readonly Qwen2RMSNorm post_attention_layernorm;

    public Qwen2DecoderLayer(Qwen2Config config, int layerIdx) : base(nameof(Qwen2DecoderLayer))
    {
        self_attn = new Qwen2Attention(config);
        mlp = new Qwen2MLP(config);
        input_layernorm = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps);
        post_attention_layernorm = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor attention_mask)
    {
        using var scope = NewDisposeScope();
        var residual = hidden_states;
        hidden_states = input_layernorm.forward(hidden_states);
        hidden_states = self_attn.forward(hidden_states, attention_mask);
        hidden_states = residual + hidden_states;   // expect: MHC0001

        residual = hidden_states;
        hidden_states = post_attention_layernorm.forward(hidden_states);
        hidden_states = mlp.forward(hidden_states);
        hidden_states = residual + hidden_states;   // expect: MHC0001
        return hidden_states.MoveToOuterDisposeScope();
    }
}

public class Qwen2Model : Module<Tensor, Tensor>
{
    private readonly Qwen2Config config;
    private readonly Embedding embed_tokens;
    private readonly List<Qwen2DecoderLayer> layers = new();
    private readonly Qwen2RMSNorm norm;

    public Qwen2Model(Qwen2Config config) : base(nameof(Qwen2Model))
    {
        this.config = config;
        embed_tokens = Embedding(config.VocabSize, config.HiddenSize);
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            var layer = new Qwen2DecoderLayer(config, i);
            layers.Add(layer);
            register_module($"layers_{i}", layer);
        }
        norm = new Qwen2RMSNorm(config.HiddenSize, config.RmsNormEps);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input_ids)
    {
        var hidden_states = embed_tokens.forward(input_ids);
        var t = input_ids.shape[1];
        var mask = torch.triu(torch.full(t, t, float.NegativeInfinity), 1);
        foreach (var decoder_layer in layers)
        {
            hidden_states = decoder_layer.forward(hidden_states, mask);
        }
        return norm.forward(hidden_states);
    }
}

public static class Harness
{
    public static Module Create() => new Qwen2Model(new Qwen2Config());

    public static Tensor Run(Module model)
    {
        using var ids = arange(0, 12, dtype: ScalarType.Int64).view(2, 6).mul(7).remainder(100);
        return ((Qwen2Model)model).forward(ids).flatten();
    }
}
