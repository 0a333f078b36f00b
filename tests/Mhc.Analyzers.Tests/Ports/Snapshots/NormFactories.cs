using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Where the stream's width is told in ways other than LayerNorm(dim) in the constructor: norms built by a
// factory helper, by a Func<long, Module> passed in (timm's norm_layer), by field initializers with
// constants (with a block-bodied and an expression-bodied constructor), and by a primary constructor whose
// parameters feed the field initializers.
namespace Ports.NormFactories;

internal static class Layers
{
    /// <summary>The project's one place that decides which norm its blocks use.</summary>
    public static Module<Tensor, Tensor> Norm(long dim) => nn.LayerNorm(dim, eps: 1e-6);
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

/// <summary>Mixes tokens with a learned causal average: nothing in it tells the width but its Linear.</summary>
public sealed class TokenMix : Module<Tensor, Tensor>
{
    private readonly Linear value;

    public TokenMix(long dim) : base(nameof(TokenMix))
    {
        value = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var t = x.shape[1];
        using var weights = ones(t, t).tril();
        return weights.div(weights.sum(-1L, keepdim: true)).matmul(value.forward(x));
    }
}

/// <summary>Both norms come from the project's factory helper.</summary>
[HyperConnected]
public sealed partial class FactoryNormBlock : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> norm1, norm2;
    private readonly TokenMix mix;
    private readonly Mlp mlp;

    public FactoryNormBlock(long dim) : base(nameof(FactoryNormBlock))
    {
        norm1 = Layers.Norm(dim);
        mix = new TokenMix(dim);
        norm2 = Layers.Norm(dim);
        mlp = new Mlp(dim, 3 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mix.forward(x, h => mix.forward(norm1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>The norm is a block-private static helper.</summary>
[HyperConnected]
public sealed partial class PrivateFactoryBlock : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> ln;
    private readonly Mlp mlp;

    private static Module<Tensor, Tensor> Norm(long dim) => LayerNorm(dim);

    public PrivateFactoryBlock(long dim) : base(nameof(PrivateFactoryBlock))
    {
        ln = Norm(dim);
        mlp = new Mlp(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_mlp.forward(x, h => mlp.forward(ln.forward(h)));   // expect: MHC0001
}

/// <summary>timm's <c>norm_layer</c>: the block is handed a function that builds its norms.</summary>
[HyperConnected]
public sealed partial class NormLayerBlock : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> norm1, norm2;
    private readonly TokenMix mix;
    private readonly Mlp mlp;

    public NormLayerBlock(long dim, Func<long, Module<Tensor, Tensor>> normLayer) : base(nameof(NormLayerBlock))
    {
        norm1 = normLayer(dim);
        mix = new TokenMix(dim);
        norm2 = normLayer(dim);
        mlp = new Mlp(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mix.forward(x, h => mix.forward(norm1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>Modules built by field initializers from constants; the constructor only registers them.</summary>
[HyperConnected]
public sealed partial class ConstantWidthBlock : Module<Tensor, Tensor>
{
    public const int Width = 16;
    private const int Hidden = 4 * Width;

    private readonly LayerNorm ln = LayerNorm(Width);
    private readonly Linear fc_in = Linear(Width, Hidden);
    private readonly Linear fc_out = Linear(Hidden, Width);

    public ConstantWidthBlock() : base(nameof(ConstantWidthBlock))
    {
        InitializeHyperConnections(channels: Width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_fc_out.forward(x, h => fc_out.forward(functional.relu(fc_in.forward(ln.forward(h)))));   // expect: MHC0001
        return x;
    }
}

/// <summary>The same with an expression-bodied constructor: <c>=&gt; RegisterComponents();</c>.</summary>
[HyperConnected]
public sealed partial class ExpressionCtorBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm = LayerNorm(ConstantWidthBlock.Width, eps: 1e-6);
    private readonly TokenMix mix = new TokenMix(ConstantWidthBlock.Width);

    public ExpressionCtorBlock() : base(nameof(ExpressionCtorBlock))
    {
        InitializeHyperConnections(channels: ConstantWidthBlock.Width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_mix.forward(x, h => mix.forward(norm.forward(h)));   // expect: MHC0001
}

public sealed record BlockArgs(long Dim, double Eps = 1e-5);

/// <summary>
/// A primary constructor feeds the field initializers; the constructor the model calls chains to it and
/// registers the modules.
/// </summary>
public sealed class PrimaryCtorBlock(long dim, double eps) : Module<Tensor, Tensor>(nameof(PrimaryCtorBlock))
{
    private readonly LayerNorm norm = LayerNorm(dim, eps);
    private readonly Linear up = Linear(dim, 2 * dim);
    private readonly Linear down = Linear(2 * dim, dim);

    public PrimaryCtorBlock(BlockArgs args) : this(args.Dim, args.Eps)
    {
        RegisterComponents();
    }

    // `new PrimaryCtorBlock(dim, eps)` would skip any body: the connections need a constructor with one.
    public override Tensor forward(Tensor x) => x + down.forward(functional.silu(up.forward(norm.forward(x))));   // expect: MHC0002 declaration
}

public sealed class FactoryModel : Module<Tensor, Tensor>
{
    private readonly Linear stem;
    private readonly ModuleList<FactoryNormBlock> factory_blocks;
    private readonly ModuleList<PrivateFactoryBlock> private_blocks;
    private readonly ModuleList<NormLayerBlock> norm_layer_blocks;
    private readonly ModuleList<ConstantWidthBlock> constant_blocks;
    private readonly ModuleList<ExpressionCtorBlock> expression_ctor_blocks;
    private readonly ModuleList<PrimaryCtorBlock> primary_blocks;
    private readonly Module<Tensor, Tensor> norm;
    private readonly Linear head;

    public FactoryModel(long inDim = 6, long dim = ConstantWidthBlock.Width) : base(nameof(FactoryModel))
    {
        stem = Linear(inDim, dim);
        factory_blocks = new ModuleList<FactoryNormBlock>(new FactoryNormBlock(dim), new FactoryNormBlock(dim));
        private_blocks = new ModuleList<PrivateFactoryBlock>(new PrivateFactoryBlock(dim), new PrivateFactoryBlock(dim));
        Func<long, Module<Tensor, Tensor>> normLayer = d => LayerNorm(d, eps: 1e-6);
        norm_layer_blocks = new ModuleList<NormLayerBlock>(Enumerable.Range(0, 2).Select(_ => new NormLayerBlock(dim, normLayer)).ToArray());
        constant_blocks = new ModuleList<ConstantWidthBlock>(new ConstantWidthBlock(), new ConstantWidthBlock());
        expression_ctor_blocks = new ModuleList<ExpressionCtorBlock>(new ExpressionCtorBlock(), new ExpressionCtorBlock());
        primary_blocks = new ModuleList<PrimaryCtorBlock>(new PrimaryCtorBlock(new BlockArgs(dim)), new PrimaryCtorBlock(new BlockArgs(dim, 1e-6)));
        norm = Layers.Norm(dim);
        head = Linear(dim, 3);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor features)
    {
        var x = stem.forward(features);
        x = HyperStreams.Expand(x, FactoryNormBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, factory_blocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, private_blocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, norm_layer_blocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, constant_blocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, expression_ctor_blocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        foreach (var block in primary_blocks)
            x = block.forward(x);
        return head.forward(norm.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new FactoryModel();

    public static Tensor Run(Module model)
    {
        manual_seed(8);
        using var features = randn(2, 7, 6);
        return ((FactoryModel)model).forward(features);
    }
}
