using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Weight sharing and inline stacks: one shared layer applied n times (Universal Transformer / ALBERT style,
// but pre-norm), a whole stack repeated in an outer loop, a residual kept with x.alias() the way TorchSharp
// code keeps a tensor alive, and a Sequential of blocks called in the middle of a nested expression.
namespace Ports.SharedWeights;

public sealed class Mixer : Module<Tensor, Tensor>
{
    private readonly Linear value, output;

    public Mixer(long dim) : base(nameof(Mixer))
    {
        value = Linear(dim, dim);
        output = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var t = x.shape[1];
        using var weights = ones(t, t).tril();
        return output.forward(weights.div(weights.sum(-1L, keepdim: true)).matmul(value.forward(x)));
    }
}

public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public FeedForward(long dim) : base(nameof(FeedForward))
    {
        fc1 = Linear(dim, 2 * dim);
        fc2 = Linear(2 * dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>The one layer the encoder applies at every depth.</summary>
[HyperConnected]
public sealed partial class SharedLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly Mixer mixer;
    private readonly FeedForward ffn;

    public SharedLayer(long dim) : base(nameof(SharedLayer))
    {
        ln_1 = LayerNorm(dim);
        mixer = new Mixer(dim);
        ln_2 = LayerNorm(dim);
        ffn = new FeedForward(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mixer.forward(x, h => mixer.forward(ln_1.forward(h)));   // expect: MHC0001
        x = hc_ffn.forward(x, h => ffn.forward(ln_2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>A stack the model runs several times over (recurrent depth).</summary>
[HyperConnected]
public sealed partial class RecurrentBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly FeedForward ffn;

    public RecurrentBlock(long dim) : base(nameof(RecurrentBlock))
    {
        norm = LayerNorm(dim);
        ffn = new FeedForward(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_ffn.forward(x, h => ffn.forward(norm.forward(h)));   // expect: MHC0001
}

/// <summary>The identity kept with alias(), as TorchSharp code keeps a tensor that a dispose scope may free.</summary>
[HyperConnected]
public sealed partial class AliasBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Mixer mixer;
    private readonly FeedForward ffn;

    public AliasBlock(long dim) : base(nameof(AliasBlock))
    {
        norm1 = LayerNorm(dim);
        mixer = new Mixer(dim);
        norm2 = LayerNorm(dim);
        ffn = new FeedForward(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mixer.forward(x, h =>
        {
            h = mixer.forward(norm1.forward(h));
            return h;
        });   // expect: MHC0001

        return hc_ffn.forward(x, h =>
        {
            h = ffn.forward(norm2.forward(h));
            return h;
        });   // expect: MHC0001
    }
}

/// <summary>Stacked in a Sequential that the model calls inside a nested expression.</summary>
[HyperConnected]
public sealed partial class InlineSequentialBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mixer mixer;

    public InlineSequentialBlock(long dim) : base(nameof(InlineSequentialBlock))
    {
        norm = LayerNorm(dim);
        mixer = new Mixer(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_mixer.forward(x, h => mixer.forward(norm.forward(h)));   // expect: MHC0001
}

public sealed class SharedWeightsModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly SharedLayer shared_layer;
    private readonly ModuleList<RecurrentBlock> recurrent;
    private readonly ModuleList<AliasBlock> aliased;
    private readonly Sequential inline_blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;
    private readonly int num_hidden_layers = 3;
    private readonly int num_loops = 2;

    public SharedWeightsModel(long vocab = 32, long dim = 16) : base(nameof(SharedWeightsModel))
    {
        embed = Embedding(vocab, dim);
        shared_layer = new SharedLayer(dim);
        recurrent = new ModuleList<RecurrentBlock>(new RecurrentBlock(dim), new RecurrentBlock(dim));
        aliased = new ModuleList<AliasBlock>(new AliasBlock(dim), new AliasBlock(dim));
        inline_blocks = Sequential(new InlineSequentialBlock(dim), new InlineSequentialBlock(dim));
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);
        x = HyperStreams.Expand(x, SharedLayer.HyperConnectionStreams);
        for (var i = 0; i < num_hidden_layers; i++)
            x = shared_layer.forward(x);

        for (var loop = 0; loop < num_loops; loop++)
        {
            x = HyperStreams.Run(x, recurrent, (block, streams) => block.forward(streams));
        }

        x = HyperStreams.Run(x, aliased, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);

        return head.forward(norm.forward(HyperStreams.Reduce(inline_blocks.forward(HyperStreams.Expand(functional.dropout(x, 0.0, training), InlineSequentialBlock.HyperConnectionStreams)))));
    }
}

public static class Harness
{
    public static Module Create() => new SharedWeightsModel();

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 12, dtype: ScalarType.Int64).view(2, 6).mul(5).remainder(32);
        return ((SharedWeightsModel)model).forward(tokens);
    }
}
