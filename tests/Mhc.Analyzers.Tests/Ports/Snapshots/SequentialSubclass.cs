using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Ports.SequentialSubclass;

[HyperConnected]
public sealed partial class EncoderLayer : nn.Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_attn, ln_ffn;
    private readonly MultiHeadSelfAttention attn;
    private readonly Sequential ffn;

    public EncoderLayer(long width, long heads) : base(nameof(EncoderLayer))
    {
        ln_attn = nn.LayerNorm(width);
        attn = new MultiHeadSelfAttention(width, heads);
        ln_ffn = nn.LayerNorm(width);
        ffn = nn.Sequential(
            ("fc_in", nn.Linear(width, 3 * width)),
            ("act", nn.SiLU()),
            ("fc_out", nn.Linear(3 * width, width)));
        InitializeHyperConnections(channels: width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln_attn.forward(h)));   // expect: MHC0001
        x = hc_ffn.forward(x, h => ffn.forward(ln_ffn.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class MultiHeadSelfAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear in_proj, out_proj;
    private readonly long heads;

    public MultiHeadSelfAttention(long width, long heads) : base(nameof(MultiHeadSelfAttention))
    {
        this.heads = heads;
        in_proj = nn.Linear(width, 3 * width);
        out_proj = nn.Linear(width, width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var shape = x.shape;
        var qkv = in_proj.forward(x).view(shape[0], shape[1], 3, heads, shape[2] / heads).permute(2, 0, 3, 1, 4);
        var y = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2]);
        return out_proj.forward(y.transpose(1, 2).reshape(shape));
    }
}

/// <summary>The layer stack as its own Sequential subclass, named like a PyTorch nn.Sequential subclass would be.</summary>
public sealed class TransformerEncoder : Sequential
{
    public TransformerEncoder(long width, long heads, int depth)
        : base(Enumerable.Range(0, depth).Select(_ => (nn.Module<Tensor, Tensor>)new EncoderLayer(width, heads)).ToArray())
    {
    }
}

public sealed class Classifier : nn.Module<Tensor, Tensor>
{
    private readonly Embedding tokens;
    private readonly Parameter positions;
    private readonly TransformerEncoder encoder;
    private readonly LayerNorm ln_post;
    private readonly Linear proj;

    public Classifier(long vocab = 32, long width = 16, long context = 8, long classes = 3) : base(nameof(Classifier))
    {
        tokens = nn.Embedding(vocab, width);
        positions = nn.Parameter(randn(context, width) * 0.01);
        encoder = new TransformerEncoder(width, heads: 2, depth: 2);
        ln_post = nn.LayerNorm(width);
        proj = nn.Linear(width, classes);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor ids)
    {
        var x = tokens.forward(ids) + positions.narrow(0, 0, ids.shape[1]);   // not residual: position embedding
        x = HyperStreams.Reduce(encoder.forward(HyperStreams.Expand(x, EncoderLayer.HyperConnectionStreams)));
        return proj.forward(ln_post.forward(x).select(1, 0));
    }
}

public static class Harness
{
    public static nn.Module Create() => new Classifier();

    public static Tensor Run(nn.Module model)
    {
        using var ids = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(11).remainder(32);
        using var shorter = arange(0, 10, dtype: ScalarType.Int64).view(2, 5);
        var classifier = (Classifier)model;
        return cat(new List<Tensor> { classifier.forward(ids).flatten(), classifier.forward(shorter).flatten() }, 0);
    }
}
