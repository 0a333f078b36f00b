using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// How models run their stacks besides `foreach (var b in list) x = b.forward(x);`: a dispose scope per layer
// with the output moved out of it, LayerDrop's `continue`, a LINQ Aggregate over the layers, the first
// layers only (Take), and the hidden states of every layer collected on the way.
namespace Ports.ModelLoops;

public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly long heads;

    public Attention(long dim, long heads) : base(nameof(Attention))
    {
        this.heads = heads;
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var parts = qkv.forward(x).view(b, t, 3, heads, c / heads).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2], is_casual: true);
        return proj.forward(y.transpose(1, 2).reshape(b, t, c));
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public Mlp(long dim) : base(nameof(Mlp))
    {
        fc1 = Linear(dim, 4 * dim);
        fc2 = Linear(4 * dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>Run one dispose scope per layer, its output moved out: <c>x = layer.forward(x).MoveToOuterDisposeScope();</c>.</summary>
[HyperConnected]
public sealed partial class ScopedLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly Attention attn;
    private readonly Mlp mlp;

    public ScopedLayer(long dim) : base(nameof(ScopedLayer))
    {
        ln_1 = LayerNorm(dim);
        attn = new Attention(dim, 2);
        ln_2 = LayerNorm(dim);
        mlp = new Mlp(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>Skipped at random while training (LayerDrop): the loop <c>continue</c>s past it.</summary>
[HyperConnected]
public sealed partial class DroppableLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mlp ffn;

    public DroppableLayer(long dim) : base(nameof(DroppableLayer))
    {
        norm = LayerNorm(dim);
        ffn = new Mlp(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_ffn.forward(x, h => ffn.forward(norm.forward(h)));   // expect: MHC0001
}

/// <summary>Run by a LINQ Aggregate over the list.</summary>
public sealed class AggregatedLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Attention attn;

    public AggregatedLayer(long dim) : base(nameof(AggregatedLayer))
    {
        norm = LayerNorm(dim);
        attn = new Attention(dim, 4);
        RegisterComponents();
    }

    // The model runs these through Aggregate, where Expand and Reduce have no statement to go around.
    public override Tensor forward(Tensor x) => x + attn.forward(norm.forward(x));   // expect: MHC0002 stack
}

/// <summary>Only the first layers run (early exit at a configured depth), each layer's output collected.</summary>
[HyperConnected]
public sealed partial class PrefixLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public PrefixLayer(long dim) : base(nameof(PrefixLayer))
    {
        norm = LayerNorm(dim);
        mlp = new Mlp(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mlp.forward(x, h => mlp.forward(norm.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class LoopsModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<ScopedLayer> scoped;
    private readonly ModuleList<DroppableLayer> droppable;
    private readonly ModuleList<AggregatedLayer> aggregated;
    private readonly ModuleList<PrefixLayer> prefix;
    private readonly LayerNorm norm;
    private readonly Linear head;
    private readonly double layerdrop = 0.1;
    private readonly int exit_depth = 2;

    public LoopsModel(long vocab = 32, long dim = 16) : base(nameof(LoopsModel))
    {
        embed = Embedding(vocab, dim);
        scoped = new ModuleList<ScopedLayer>(new ScopedLayer(dim), new ScopedLayer(dim));
        droppable = new ModuleList<DroppableLayer>(new DroppableLayer(dim), new DroppableLayer(dim));
        aggregated = new ModuleList<AggregatedLayer>(new AggregatedLayer(dim), new AggregatedLayer(dim));
        prefix = new ModuleList<PrefixLayer>(new PrefixLayer(dim), new PrefixLayer(dim), new PrefixLayer(dim));
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);

        x = HyperStreams.Expand(x, ScopedLayer.HyperConnectionStreams);
        foreach (var layer in scoped)
        {
            using var layerScope = NewDisposeScope();
            x = layer.forward(x).MoveToOuterDisposeScope();
        }

        foreach (var layer in droppable)
        {
            if (training && Random.Shared.NextDouble() < layerdrop)
                continue;
            x = layer.forward(x);
        }
        x = HyperStreams.Reduce(x);

        x = aggregated.Aggregate(x, (h, layer) => layer.forward(h));

        var hidden_states = new List<Tensor>();
        x = HyperStreams.Expand(x, PrefixLayer.HyperConnectionStreams);
        foreach (var layer in prefix.Take(exit_depth))
        {
            x = layer.forward(x);
            hidden_states.Add(HyperStreams.Reduce(x));
        }
        x = HyperStreams.Reduce(x);

        var pooled = stack(hidden_states, 0).mean(new long[] { 0 });
        return head.forward(norm.forward(pooled));
    }
}

public static class Harness
{
    public static Module Create() => new LoopsModel();

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 18, dtype: ScalarType.Int64).view(2, 9).mul(5).remainder(32);
        return ((LoopsModel)model).forward(tokens);
    }
}
