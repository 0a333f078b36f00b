using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Meta's reference Llama as a port writes it: widths in a ModelArgs record (args.Dim), an RMSNorm that takes
// the whole record and reads args.Dim inside, the layers in a List<TransformerBlock> registered by hand,
// iterated with their index from Select((l, i) => (i, l)), and a KV cache per layer: cache[i] goes in, the
// new cache comes out and is appended to a list.
namespace Ports.ConfigRecords;

public sealed record ModelArgs
{
    public int Dim { get; init; } = 16;
    public int NLayers { get; init; } = 2;
    public int NHeads { get; init; } = 2;
    public int VocabSize { get; init; } = 32;
    public int MultipleOf { get; init; } = 8;
    public float NormEps { get; init; } = 1e-5f;

    public int HeadDim => Dim / NHeads;
}

public sealed record LayerCache(Tensor Keys, Tensor Values);

public sealed class RMSNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly float eps;

    public RMSNorm(ModelArgs args) : base(nameof(RMSNorm))
    {
        eps = args.NormEps;
        weight = Parameter(ones(args.Dim));
        RegisterComponents();
    }

    private Tensor Norm(Tensor x) => x * rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + eps);

    public override Tensor forward(Tensor x) => Norm(x.to_type(ScalarType.Float32)).type_as(x) * weight;
}

public sealed class Attention : Module<Tensor, Tensor?, LayerCache?, (Tensor Output, LayerCache Cache)>
{
    private readonly Linear wq, wk, wv, wo;
    private readonly int n_heads, head_dim;

    public Attention(ModelArgs args) : base(nameof(Attention))
    {
        n_heads = args.NHeads;
        head_dim = args.HeadDim;
        wq = Linear(args.Dim, args.NHeads * head_dim, hasBias: false);
        wk = Linear(args.Dim, args.NHeads * head_dim, hasBias: false);
        wv = Linear(args.Dim, args.NHeads * head_dim, hasBias: false);
        wo = Linear(args.NHeads * head_dim, args.Dim, hasBias: false);
        RegisterComponents();
    }

    public override (Tensor Output, LayerCache Cache) forward(Tensor x, Tensor? mask, LayerCache? cache)
    {
        var (bsz, seqlen) = (x.shape[0], x.shape[1]);
        var xq = wq.forward(x).view(bsz, seqlen, n_heads, head_dim).transpose(1, 2);
        var keys = wk.forward(x).view(bsz, seqlen, n_heads, head_dim).transpose(1, 2);
        var values = wv.forward(x).view(bsz, seqlen, n_heads, head_dim).transpose(1, 2);
        if (cache is not null)
        {
            keys = cat(new[] { cache.Keys, keys }, 2);
            values = cat(new[] { cache.Values, values }, 2);
        }

        var scores = xq.matmul(keys.transpose(2, 3)) / Math.Sqrt(head_dim);
        if (mask is not null)
            scores = scores + mask;   // not residual: additive causal mask
        var output = functional.softmax(scores, -1).matmul(values).transpose(1, 2).contiguous().view(bsz, seqlen, -1);
        return (wo.forward(output), new LayerCache(keys, values));
    }
}

public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear w1, w2, w3;

    public FeedForward(int dim, int hidden_dim, int multiple_of) : base(nameof(FeedForward))
    {
        hidden_dim = 2 * hidden_dim / 3;
        hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) / multiple_of);
        w1 = Linear(dim, hidden_dim, hasBias: false);
        w2 = Linear(hidden_dim, dim, hasBias: false);
        w3 = Linear(dim, hidden_dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => w2.forward(functional.silu(w1.forward(x)) * w3.forward(x));
}

[HyperConnected]
public sealed partial class TransformerBlock : Module<Tensor, Tensor?, LayerCache?, (Tensor Output, LayerCache Cache)>
{
    private readonly Attention attention;
    private readonly FeedForward feed_forward;
    private readonly RMSNorm attention_norm, ffn_norm;
    private readonly int layer_id;

    public TransformerBlock(int layer_id, ModelArgs args) : base(nameof(TransformerBlock))
    {
        this.layer_id = layer_id;
        attention = new Attention(args);
        feed_forward = new FeedForward(args.Dim, 4 * args.Dim, args.MultipleOf);
        attention_norm = new RMSNorm(args);
        ffn_norm = new RMSNorm(args);
        InitializeHyperConnections(channels: args.Dim);
        RegisterComponents();
    }

    public override (Tensor Output, LayerCache Cache) forward(Tensor x, Tensor? mask, LayerCache? cache)
    {
        LayerCache? newCache = default!;
        var h = hc_attention.forward(x, s =>
        {
            (var attn, newCache) = attention.forward(attention_norm.forward(s), mask, cache);
            return attn;
        });   // expect: MHC0001
        var @out = hc_feed_forward.forward(h, s => feed_forward.forward(ffn_norm.forward(s)));   // expect: MHC0001
        return (@out, newCache);
    }
}

public sealed class Transformer : Module<Tensor, IReadOnlyList<LayerCache>?, (Tensor Logits, List<LayerCache> Caches)>
{
    private readonly ModelArgs args;
    private readonly Embedding tok_embeddings;
    private readonly List<TransformerBlock> layers = new();
    private readonly RMSNorm norm;
    private readonly Linear output;

    public Transformer(ModelArgs args) : base(nameof(Transformer))
    {
        this.args = args;
        tok_embeddings = Embedding(args.VocabSize, args.Dim);
        for (var layer_id = 0; layer_id < args.NLayers; layer_id++)
        {
            var block = new TransformerBlock(layer_id, args);
            layers.Add(block);
            register_module($"layers_{layer_id}", block);
        }

        norm = new RMSNorm(args);
        output = Linear(args.Dim, args.VocabSize, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override (Tensor Logits, List<LayerCache> Caches) forward(Tensor tokens, IReadOnlyList<LayerCache>? caches)
    {
        var seqlen = tokens.shape[1];
        var h = tok_embeddings.forward(tokens);
        Tensor? mask = null;
        if (seqlen > 1)
        {
            var start = caches is null ? 0 : caches[0].Keys.shape[2];
            mask = full(seqlen, seqlen, float.NegativeInfinity).triu(1);
            mask = cat(new[] { zeros(seqlen, start), mask }, 1);
        }

        var newCaches = new List<LayerCache>();
        h = HyperStreams.Expand(h, TransformerBlock.HyperConnectionStreams);
        foreach (var (i, layer) in layers.Select((l, i) => (i, l)))
        {
            (h, var cache) = layer.forward(h, mask, caches?[i]);
            newCaches.Add(cache);
        }
        h = HyperStreams.Reduce(h);

        h = norm.forward(h);
        return (output.forward(h).to_type(ScalarType.Float32), newCaches);
    }
}

public static class Harness
{
    public static Module Create() => new Transformer(new ModelArgs());

    /// <summary>A prompt, then one decoding step on the caches it returned.</summary>
    public static Tensor Run(Module model)
    {
        var llama = (Transformer)model;
        using var prompt = tensor(new long[] { 1, 15, 22, 3, 9, 1, 7, 7, 30, 2 }).view(2, 5);
        var (first, caches) = llama.forward(prompt, null);
        using var next = tensor(new long[] { 11, 26 }).view(2, 1);
        var (second, _) = llama.forward(next, caches);
        return cat(new[] { first.flatten(), second.flatten() }, 0);
    }
}
