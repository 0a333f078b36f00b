using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.MixtralLike;

public sealed class SparseMoe : Module<Tensor, (Tensor hidden, Tensor routerLogits)>
{
    private readonly Linear gate;
    private readonly ModuleList<Sequential> experts = new();
    private readonly int topK;

    public SparseMoe(int hidden, int ffn, int numExperts, int topK) : base(nameof(SparseMoe))
    {
        gate = Linear(hidden, numExperts, hasBias: false);
        for (int e = 0; e < numExperts; e++)
            experts.Add(Sequential(Linear(hidden, ffn), SiLU(), Linear(ffn, hidden)));
        this.topK = topK;
        RegisterComponents();
    }

    public override (Tensor hidden, Tensor routerLogits) forward(Tensor x)
    {
        var logits = gate.forward(x);
        var weights = functional.softmax(logits, -1);
        var (topW, topI) = weights.topk(topK, -1);
        topW = topW / topW.sum(-1, keepdim: true);
        var y = torch.zeros_like(x);
        for (int e = 0; e < experts.Count; e++)
        {
            var w = (topW * (topI == e).to(topW.dtype)).sum(-1, keepdim: true);
            y = y + w * experts[e].forward(x);   // not residual: experts accumulated
        }
        return (y, logits);
    }
}

public sealed class RmsNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    public RmsNorm(long dim) : base(nameof(RmsNorm)) { weight = Parameter(torch.ones(dim)); RegisterComponents(); }
    public override Tensor forward(Tensor x) => weight * (x * torch.rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + 1e-5));
}

[HyperConnected]
public sealed partial class MixtralBlock : Module<Tensor, Tensor>
{
    private readonly RmsNorm attention_norm;
    private readonly RmsNorm ffn_norm;
    private readonly MultiheadAttention attention;
    private readonly SparseMoe block_sparse_moe;

    public MixtralBlock(int dim, int heads, int experts) : base(nameof(MixtralBlock))
    {
        attention_norm = new RmsNorm(dim);
        ffn_norm = new RmsNorm(dim);
        attention = MultiheadAttention(dim, heads);
        block_sparse_moe = new SparseMoe(dim, dim * 2, experts, 2);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var r = hc_attention.forward(x, s =>
        {
            var h = attention_norm.forward(s);
            var (a, _) = attention.forward(h, h, h, null, false, null);
            return a;
        });   // expect: MHC0001
        var output = hc_block_sparse_moe.forward(r, s =>
        {
            var (moeOut, _) = block_sparse_moe.forward(ffn_norm.forward(s));
            return moeOut;
        });   // expect: MHC0001
        return output;
    }
}

public sealed class Mixtral : Module<Tensor, Tensor>
{
    private readonly Embedding tok_embeddings;
    private readonly Sequential layers;
    private readonly RmsNorm norm;
    private readonly Linear output;

    public Mixtral(int vocab, int dim, int heads, int nLayers, int experts) : base(nameof(Mixtral))
    {
        tok_embeddings = Embedding(vocab, dim);
        layers = Sequential(Enumerable.Range(0, nLayers).Select(i => ($"layer{i}", (Module<Tensor, Tensor>)new MixtralBlock(dim, heads, experts))).ToArray());
        norm = new RmsNorm(dim);
        output = Linear(dim, vocab, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var h = tok_embeddings.forward(tokens);
        h = HyperStreams.Reduce(layers.forward(HyperStreams.Expand(h, MixtralBlock.HyperConnectionStreams)));
        return output.forward(norm.forward(h));
    }
}

public static class Harness
{
    public static Module Create() => new Mixtral(vocab: 32, dim: 16, heads: 2, nLayers: 2, experts: 3);

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(3).remainder(32);
        return ((Mixtral)model).forward(tokens).flatten();
    }
}
