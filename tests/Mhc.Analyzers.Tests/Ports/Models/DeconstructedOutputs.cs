using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

// An encoder layer whose attention returns its weights beside the hidden states, taken apart by assigning the
// states and declaring the weights in one deconstruction, as text-encoder ports of diffusion pipelines write it;
// the weights are returned after the residual sum.
namespace Ports.DeconstructedOutputs;

public sealed class SelfAttention : nn.Module<Tensor, (Tensor, Tensor)>
{
    private readonly Linear q_proj, k_proj, v_proj, out_proj;
    private readonly double scale;

    public SelfAttention(int embed_dim) : base(nameof(SelfAttention))
    {
        q_proj = nn.Linear(embed_dim, embed_dim);
        k_proj = nn.Linear(embed_dim, embed_dim);
        v_proj = nn.Linear(embed_dim, embed_dim);
        out_proj = nn.Linear(embed_dim, embed_dim);
        scale = 1.0 / System.Math.Sqrt(embed_dim);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor hidden_states)
    {
        var q = q_proj.forward(hidden_states) * scale;
        var k = k_proj.forward(hidden_states);
        var v = v_proj.forward(hidden_states);
        var attn_weights = nn.functional.softmax(q.matmul(k.transpose(-1, -2)), -1);
        return (out_proj.forward(attn_weights.matmul(v)), attn_weights);
    }
}

public sealed class EncoderLayer : nn.Module<Tensor, (Tensor, Tensor)>
{
    private readonly LayerNorm layer_norm1, layer_norm2;
    private readonly SelfAttention self_attn;
    private readonly Linear fc1, fc2;

    public EncoderLayer(int embed_dim) : base(nameof(EncoderLayer))
    {
        layer_norm1 = nn.LayerNorm(embed_dim);
        self_attn = new SelfAttention(embed_dim);
        layer_norm2 = nn.LayerNorm(embed_dim);
        fc1 = nn.Linear(embed_dim, 4 * embed_dim);
        fc2 = nn.Linear(4 * embed_dim, embed_dim);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor hidden_states)
    {
        var residual = hidden_states;
        hidden_states = layer_norm1.forward(hidden_states);
        (hidden_states, var attention_weights) = self_attn.forward(hidden_states);
        hidden_states = residual + hidden_states;   // expect: MHC0001

        residual = hidden_states;
        hidden_states = layer_norm2.forward(hidden_states);
        hidden_states = fc2.forward(nn.functional.gelu(fc1.forward(hidden_states)));
        hidden_states = residual + hidden_states;   // expect: MHC0001
        return (hidden_states, attention_weights);
    }
}

/// <summary>The deconstruction is the branch's first write of the states, and the weights are scaled after the sum.</summary>
public sealed class PoolerLayer : nn.Module<Tensor, (Tensor, Tensor)>
{
    private readonly LayerNorm norm;
    private readonly SelfAttention attn;

    public PoolerLayer(int embed_dim) : base(nameof(PoolerLayer))
    {
        norm = nn.LayerNorm(embed_dim);
        attn = new SelfAttention(embed_dim);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x)
    {
        var skip = x;
        (x, var weights) = attn.forward(norm.forward(x));
        x = skip + x;   // expect: MHC0001
        return (x, weights * 0.5);
    }
}

public sealed class TextEncoder : nn.Module<Tensor, Tensor>
{
    private readonly ModuleList<EncoderLayer> layers;
    private readonly ModuleList<PoolerLayer> poolers;
    private readonly LayerNorm final_layer_norm;

    public TextEncoder(int embed_dim = 16, int num_layers = 2) : base(nameof(TextEncoder))
    {
        layers = new ModuleList<EncoderLayer>(Enumerable.Range(0, num_layers).Select(_ => new EncoderLayer(embed_dim)).ToArray());
        poolers = new ModuleList<PoolerLayer>(new PoolerLayer(embed_dim), new PoolerLayer(embed_dim));
        final_layer_norm = nn.LayerNorm(embed_dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        foreach (var layer in layers)
            (hidden_states, _) = layer.forward(hidden_states);
        foreach (var pooler in poolers)
            (hidden_states, _) = pooler.forward(hidden_states);
        return final_layer_norm.forward(hidden_states);
    }
}

public static class Harness
{
    public static nn.Module Create() => new TextEncoder();

    public static Tensor Run(nn.Module model)
    {
        using var input = torch.linspace(-1, 1, 2 * 6 * 16).view(2, 6, 16);
        return ((TextEncoder)model).forward(input);
    }
}
