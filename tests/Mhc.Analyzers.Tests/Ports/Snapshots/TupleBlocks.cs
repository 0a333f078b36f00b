using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Blocks whose forward takes a named tuple and returns one, and blocks that take several tensors and return
// the hidden states with an auxiliary loss (a mixture-of-experts layer), summed over the layers by the model.
namespace Ports.TupleBlocks;

public sealed class MaskedAttention : Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly long heads;

    public MaskedAttention(long dim, long heads) : base(nameof(MaskedAttention))
    {
        this.heads = heads;
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    /// <param name="padding">[B, T], true where the token is padding; null when none is.</param>
    public override Tensor forward(Tensor x, Tensor? padding)
    {
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var parts = qkv.forward(x).view(b, t, 3, heads, c / heads).permute(2, 0, 3, 1, 4);
        var scores = parts[0].matmul(parts[1].transpose(-2, -1)) / Math.Sqrt(c / heads);
        if (padding is not null)
            scores = scores.masked_fill(padding.view(b, 1, 1, t), float.NegativeInfinity);
        var y = functional.softmax(scores, -1).matmul(parts[2]);
        return proj.forward(y.transpose(1, 2).reshape(b, t, c));
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public Mlp(long dim, long hidden) : base(nameof(Mlp))
    {
        fc1 = Linear(dim, hidden);
        fc2 = Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>The layer's state travels as one named tuple: hidden states and the padding mask.</summary>
[HyperConnected]
public sealed partial class EncoderLayer : Module<(Tensor Hidden, Tensor Padding), (Tensor Hidden, Tensor Padding)>
{
    private readonly LayerNorm norm1, norm2;
    private readonly MaskedAttention attn;
    private readonly Mlp mlp;

    public EncoderLayer(long dim, long heads) : base(nameof(EncoderLayer))
    {
        norm1 = LayerNorm(dim);
        attn = new MaskedAttention(dim, heads);
        norm2 = LayerNorm(dim);
        mlp = new Mlp(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor Padding) forward((Tensor Hidden, Tensor Padding) input)
    {
        var (x, padding) = input;
        x = hc_attn.forward(x, h => attn.forward(norm1.forward(h), padding));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return (x, padding);
    }
}

/// <summary>The same tuple in and out, read by its element names rather than deconstructed.</summary>
[HyperConnected]
public sealed partial class TupleMemberLayer : Module<(Tensor Hidden, Tensor Padding), (Tensor Hidden, Tensor Padding)>
{
    private readonly LayerNorm ln;
    private readonly Mlp ffn;

    public TupleMemberLayer(long dim) : base(nameof(TupleMemberLayer))
    {
        ln = LayerNorm(dim);
        ffn = new Mlp(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor Padding) forward((Tensor Hidden, Tensor Padding) input)
    {
        var hidden = hc_ffn.forward(input.Hidden, h => ffn.forward(ln.forward(h)));   // expect: MHC0001
        return (hidden, input.Padding);
    }
}

/// <summary>Top-1 routing over a few expert MLPs, with the load-balancing loss.</summary>
public sealed class SparseMoe : Module<Tensor, (Tensor Output, Tensor AuxLoss)>
{
    private readonly Linear router;
    private readonly ModuleList<Mlp> experts;

    public SparseMoe(long dim, int numExperts) : base(nameof(SparseMoe))
    {
        router = Linear(dim, numExperts, hasBias: false);
        experts = new ModuleList<Mlp>(Enumerable.Range(0, numExperts).Select(_ => new Mlp(dim, 2 * dim)).ToArray());
        RegisterComponents();
    }

    public override (Tensor Output, Tensor AuxLoss) forward(Tensor x)
    {
        var probs = functional.softmax(router.forward(x), -1);
        var output = zeros_like(x);
        for (var e = 0; e < experts.Count; e++)
            output = output + probs.narrow(-1, e, 1) * experts[e].forward(x);   // not residual: the experts' weighted sum
        var load = probs.mean(new long[] { 0, 1 });
        var auxLoss = load.pow(2).sum() * experts.Count;
        return (output, auxLoss);
    }
}

/// <summary>Takes the stream and a conditioning vector; returns the stream and its auxiliary loss.</summary>
[HyperConnected]
public sealed partial class MoeLayer : Module<Tensor, Tensor, (Tensor Hidden, Tensor AuxLoss)>
{
    private readonly LayerNorm ln_attn, ln_moe;
    private readonly MaskedAttention attn;
    private readonly SparseMoe moe;
    private readonly Linear cond_gate;

    public MoeLayer(long dim, long condDim, int numExperts) : base(nameof(MoeLayer))
    {
        ln_attn = LayerNorm(dim);
        attn = new MaskedAttention(dim, 2);
        ln_moe = LayerNorm(dim);
        moe = new SparseMoe(dim, numExperts);
        cond_gate = Linear(condDim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor AuxLoss) forward(Tensor hidden, Tensor cond)
    {
        var gate = functional.sigmoid(cond_gate.forward(cond)).unsqueeze(1);
        hidden = hc_attn.forward(hidden, h => gate * attn.forward(ln_attn.forward(h), null));   // expect: MHC0001
        Tensor? auxLoss = default!;
        hidden = hc_moe.forward(hidden, h =>
        {
            (var moeOut, auxLoss) = moe.forward(ln_moe.forward(h));
            return moeOut;
        });   // expect: MHC0001
        return (hidden, auxLoss);
    }
}

public sealed class TupleModel : Module<Tensor, Tensor, (Tensor Logits, Tensor AuxLoss)>
{
    private readonly Embedding embed;
    private readonly ModuleList<EncoderLayer> encoder;
    private readonly ModuleList<TupleMemberLayer> tuple_layers;
    private readonly ModuleList<MoeLayer> moe_layers;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public TupleModel(long vocab = 32, long dim = 16, long condDim = 4) : base(nameof(TupleModel))
    {
        embed = Embedding(vocab, dim, padding_idx: 0);
        encoder = new ModuleList<EncoderLayer>(new EncoderLayer(dim, 2), new EncoderLayer(dim, 2));
        tuple_layers = new ModuleList<TupleMemberLayer>(new TupleMemberLayer(dim), new TupleMemberLayer(dim));
        moe_layers = new ModuleList<MoeLayer>(new MoeLayer(dim, condDim, 2), new MoeLayer(dim, condDim, 3));
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override (Tensor Logits, Tensor AuxLoss) forward(Tensor tokens, Tensor cond)
    {
        using var padding = tokens.eq(0);
        var x = embed.forward(tokens);
        x = HyperStreams.Expand(x, EncoderLayer.HyperConnectionStreams);
        foreach (var layer in encoder)
        {
            var outputs = layer.forward((x, padding));
            x = outputs.Hidden;
        }
        x = HyperStreams.Reduce(x);

        var state = (x, padding);
        state.x = HyperStreams.Expand(state.x, TupleMemberLayer.HyperConnectionStreams);
        foreach (var layer in tuple_layers)
            state = layer.forward(state);
        state.x = HyperStreams.Reduce(state.x);
        x = state.x;

        var aux = zeros(1);
        x = HyperStreams.Expand(x, MoeLayer.HyperConnectionStreams);
        foreach (var layer in moe_layers)
        {
            (x, var layerAux) = layer.forward(x, cond);
            aux = aux + layerAux;   // not residual: the auxiliary losses summed over the layers
        }
        x = HyperStreams.Reduce(x);

        return (head.forward(norm.forward(x)), aux);
    }
}

public static class Harness
{
    public static Module Create() => new TupleModel();

    public static Tensor Run(Module model)
    {
        manual_seed(17);
        using var tokens = tensor(new long[] { 7, 3, 12, 25, 0, 0, 9, 31, 4, 4, 18, 2 }).view(2, 6);
        using var cond = randn(2, 4);
        var (logits, aux) = ((TupleModel)model).forward(tokens, cond);
        return cat(new List<Tensor> { logits.flatten(), aux.flatten() }, 0);
    }
}
