using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// llama2.c's ModelArgs with lower-case public fields (args.dim), and the block stacks held the ways ports
// hold them: a Block[] run by a while loop, a ModuleList<Module<Tensor, Tensor>> filled with one block
// class, a ModuleDict run over values(), and a ModuleList run backwards by index.
namespace Ports.StackContainers;

public class ModelArgs
{
    public int dim = 16;
    public int n_layers = 2;
    public int n_heads = 2;
    public int vocab_size = 32;
    public int hidden_dim = 40;
    public float norm_eps = 1e-5f;
    public int max_seq_len = 16;
}

public sealed class RMSNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly float eps;

    public RMSNorm(int dim, float eps) : base(nameof(RMSNorm))
    {
        this.eps = eps;
        weight = Parameter(ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x * rsqrt(x.pow(2).mean(new long[] { -1 }, keepdim: true) + eps) * weight;
}

public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear wq, wk, wv, wo;
    private readonly int n_heads, head_dim;

    public Attention(ModelArgs args) : base(nameof(Attention))
    {
        n_heads = args.n_heads;
        head_dim = args.dim / args.n_heads;
        wq = Linear(args.dim, args.dim, hasBias: false);
        wk = Linear(args.dim, args.dim, hasBias: false);
        wv = Linear(args.dim, args.dim, hasBias: false);
        wo = Linear(args.dim, args.dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (bsz, seqlen) = (x.shape[0], x.shape[1]);
        var xq = wq.forward(x).view(bsz, seqlen, n_heads, head_dim).transpose(1, 2);
        var xk = wk.forward(x).view(bsz, seqlen, n_heads, head_dim).transpose(1, 2);
        var xv = wv.forward(x).view(bsz, seqlen, n_heads, head_dim).transpose(1, 2);
        var output = functional.scaled_dot_product_attention(xq, xk, xv, is_casual: true);
        return wo.forward(output.transpose(1, 2).contiguous().view(bsz, seqlen, -1));
    }
}

public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear w1, w2, w3;

    public FeedForward(int dim, int hidden_dim) : base(nameof(FeedForward))
    {
        w1 = Linear(dim, hidden_dim, hasBias: false);
        w2 = Linear(hidden_dim, dim, hasBias: false);
        w3 = Linear(dim, hidden_dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => w2.forward(functional.silu(w1.forward(x)) * w3.forward(x));
}

/// <summary>llama2.c's block: widths from args.dim, norms from args.norm_eps.</summary>
[HyperConnected]
public sealed partial class TransformerBlock : Module<Tensor, Tensor>
{
    private readonly Attention attention;
    private readonly FeedForward feed_forward;
    private readonly RMSNorm attention_norm, ffn_norm;

    public TransformerBlock(int layer_id, ModelArgs args) : base($"layer{layer_id}")
    {
        attention = new Attention(args);
        feed_forward = new FeedForward(args.dim, args.hidden_dim);
        attention_norm = new RMSNorm(args.dim, args.norm_eps);
        ffn_norm = new RMSNorm(args.dim, args.norm_eps);
        InitializeHyperConnections(channels: args.dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var h = hc_attention.forward(x, s => attention.forward(attention_norm.forward(s)));   // expect: MHC0001
        var @out = hc_feed_forward.forward(h, s => feed_forward.forward(ffn_norm.forward(s)));   // expect: MHC0001
        return @out;
    }
}

/// <summary>A gated MLP block, stacked in a ModuleList typed by the base class.</summary>
[HyperConnected]
public sealed partial class GatedBlock : Module<Tensor, Tensor>
{
    private readonly RMSNorm norm;
    private readonly FeedForward ffn;

    public GatedBlock(ModelArgs args) : base(nameof(GatedBlock))
    {
        norm = new RMSNorm(args.dim, args.norm_eps);
        ffn = new FeedForward(args.dim, args.hidden_dim);
        InitializeHyperConnections(channels: args.dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_ffn.forward(x, h => ffn.forward(norm.forward(h)));   // expect: MHC0001
}

/// <summary>An attention-only block, stacked in a ModuleDict.</summary>
[HyperConnected]
public sealed partial class AttentionBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln;
    private readonly Attention attn;

    public AttentionBlock(ModelArgs args) : base(nameof(AttentionBlock))
    {
        ln = LayerNorm(args.dim);
        attn = new Attention(args);
        InitializeHyperConnections(channels: args.dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>An MLP-only block, run from the last to the first.</summary>
[HyperConnected]
public sealed partial class ReversedBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln;
    private readonly FeedForward ffn;

    public ReversedBlock(ModelArgs args) : base(nameof(ReversedBlock))
    {
        ln = LayerNorm(args.dim);
        ffn = new FeedForward(args.dim, 2 * args.dim);
        InitializeHyperConnections(channels: args.dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_ffn.forward(x, h => ffn.forward(ln.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class Transformer : Module<Tensor, Tensor>
{
    private readonly Embedding tok_embeddings;
    private readonly Dropout dropout;
    private readonly TransformerBlock[] layers;
    private readonly ModuleList<Module<Tensor, Tensor>> gated;
    private readonly ModuleDict<AttentionBlock> attention_blocks;
    private readonly ModuleList<ReversedBlock> reversed;
    private readonly RMSNorm norm;
    private readonly Linear output;

    public Transformer(ModelArgs args) : base(nameof(Transformer))
    {
        tok_embeddings = Embedding(args.vocab_size, args.dim);
        dropout = Dropout(0.0);
        layers = new TransformerBlock[args.n_layers];
        for (var layer_id = 0; layer_id < args.n_layers; layer_id++)
        {
            layers[layer_id] = new TransformerBlock(layer_id, args);
            register_module($"layers_{layer_id}", layers[layer_id]);
        }

        gated = new ModuleList<Module<Tensor, Tensor>>();
        for (var i = 0; i < 2; i++)
            gated.append(new GatedBlock(args));

        attention_blocks = new ModuleDict<AttentionBlock>();
        attention_blocks.Add("first", new AttentionBlock(args));
        attention_blocks.Add("second", new AttentionBlock(args));

        reversed = new ModuleList<ReversedBlock>(new ReversedBlock(args), new ReversedBlock(args));

        norm = new RMSNorm(args.dim, args.norm_eps);
        output = Linear(args.dim, args.vocab_size, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var h = tok_embeddings.forward(tokens);
        h = dropout.forward(h);

        var i = 0;
        h = HyperStreams.Expand(h, TransformerBlock.HyperConnectionStreams);
        while (i < layers.Length)
        {
            h = layers[i].forward(h);
            i++;
        }

        h = HyperStreams.Run(h, gated, (block2, streams) => block2.forward(streams));

        h = HyperStreams.Run(h, attention_blocks.values(), (block, streams) => block.forward(streams));

        for (var r = reversed.Count - 1; r >= 0; r--)
            h = reversed[r].forward(h);
        h = HyperStreams.Reduce(h);

        h = norm.forward(h);
        return output.forward(h);
    }
}

public static class Harness
{
    public static Module Create() => new Transformer(new ModelArgs());

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(11).remainder(32);
        return ((Transformer)model).forward(tokens);
    }
}
