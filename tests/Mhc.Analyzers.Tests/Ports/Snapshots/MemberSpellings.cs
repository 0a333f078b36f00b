using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// How members are named and reached: this.-qualified modules, a stack held in an auto-property, a stack built
// by a helper method as a ModuleList of the base type, a block with a convenience forward overload that the
// model calls, and a norm written inline with functional.layer_norm over Parameters.
namespace Ports.MemberSpellings;

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

public sealed class MaskedMixer : Module<Tensor, Tensor?, Tensor>
{
    private readonly Linear value, output;

    public MaskedMixer(long dim) : base(nameof(MaskedMixer))
    {
        value = Linear(dim, dim);
        output = Linear(dim, dim);
        RegisterComponents();
    }

    /// <param name="mask">[T, T] weights, or null for a causal mean.</param>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        var t = x.shape[1];
        var weights = mask ?? ones(t, t).tril();
        return output.forward(weights.div(weights.sum(-1L, keepdim: true)).matmul(value.forward(x)));
    }
}

/// <summary>Every member reached through <c>this.</c>.</summary>
[HyperConnected]
public sealed partial class QualifiedBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly MaskedMixer attn;
    private readonly Mlp mlp;

    public QualifiedBlock(long dim) : base(nameof(QualifiedBlock))
    {
        this.ln_1 = LayerNorm(dim);
        this.attn = new MaskedMixer(dim);
        this.ln_2 = LayerNorm(dim);
        this.mlp = new Mlp(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        this.RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => this.attn.forward(this.ln_1.forward(h), null));   // expect: MHC0001
        x = hc_mlp.forward(x, h => this.mlp.forward(this.ln_2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>Stacked in an auto-property of the model.</summary>
[HyperConnected]
public sealed partial class PropertyStackBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public PropertyStackBlock(long dim) : base(nameof(PropertyStackBlock))
    {
        norm = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_mlp.forward(x, h => mlp.forward(norm.forward(h)));   // expect: MHC0001
}

/// <summary>Stacked in a ModuleList of the base type that a helper method builds.</summary>
[HyperConnected]
public sealed partial class HelperBuiltBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly MaskedMixer mixer;

    public HelperBuiltBlock(long dim) : base(nameof(HelperBuiltBlock))
    {
        norm = LayerNorm(dim);
        mixer = new MaskedMixer(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_mixer.forward(x, h => mixer.forward(norm.forward(h), null));   // expect: MHC0001
}

/// <summary>Takes an optional mask; a convenience overload without it is what the model calls.</summary>
[HyperConnected]
public sealed partial class OverloadedBlock : Module<Tensor, Tensor?, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly MaskedMixer mixer;
    private readonly Mlp mlp;

    public OverloadedBlock(long dim) : base(nameof(OverloadedBlock))
    {
        norm1 = LayerNorm(dim);
        mixer = new MaskedMixer(dim);
        norm2 = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public Tensor forward(Tensor x) => forward(x, null);

    public override Tensor forward(Tensor x, Tensor? mask)
    {
        x = hc_mixer.forward(x, h => mixer.forward(norm1.forward(h), mask));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>The norm inline: functional.layer_norm over the block's own weight and bias Parameters.</summary>
[HyperConnected]
public sealed partial class FunctionalNormBlock : Module<Tensor, Tensor>
{
    private readonly Parameter ln_weight, ln_bias;
    private readonly Mlp mlp;
    private readonly long[] normalized_shape;

    public FunctionalNormBlock(long dim) : base(nameof(FunctionalNormBlock))
    {
        normalized_shape = new[] { dim };
        ln_weight = Parameter(ones(dim));
        ln_bias = Parameter(zeros(dim));
        mlp = new Mlp(dim, 3 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mlp.forward(x, h => mlp.forward(functional.layer_norm(h, normalized_shape, ln_weight, ln_bias, 1e-5)));   // expect: MHC0001
        return x;
    }
}

public sealed class MembersModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<QualifiedBlock> qualified;
    private readonly ModuleList<Module<Tensor, Tensor>> helper_built;
    private readonly ModuleList<OverloadedBlock> overloaded;
    private readonly ModuleList<FunctionalNormBlock> functional_norm;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public ModuleList<PropertyStackBlock> Layers { get; }

    public MembersModel(long vocab = 32, long dim = 16) : base(nameof(MembersModel))
    {
        embed = Embedding(vocab, dim);
        qualified = new ModuleList<QualifiedBlock>(new QualifiedBlock(dim), new QualifiedBlock(dim));
        Layers = new ModuleList<PropertyStackBlock>(new PropertyStackBlock(dim), new PropertyStackBlock(dim));
        helper_built = BuildStack(dim, 2);
        overloaded = new ModuleList<OverloadedBlock>(new OverloadedBlock(dim), new OverloadedBlock(dim));
        functional_norm = new ModuleList<FunctionalNormBlock>(new FunctionalNormBlock(dim), new FunctionalNormBlock(dim));
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    private static ModuleList<Module<Tensor, Tensor>> BuildStack(long dim, int depth)
    {
        var list = new ModuleList<Module<Tensor, Tensor>>();
        for (var i = 0; i < depth; i++)
            list.Add(new HelperBuiltBlock(dim));
        return list;
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);
        x = HyperStreams.Expand(x, QualifiedBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, qualified, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, Layers, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, helper_built, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, overloaded, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, functional_norm, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        return head.forward(norm.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new MembersModel();

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 14, dtype: ScalarType.Int64).view(2, 7).mul(3).remainder(32);
        return ((MembersModel)model).forward(tokens);
    }
}
