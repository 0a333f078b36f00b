using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// How block classes are declared and written rather than what they compute: a generic block, a block that
// is partial already (split over two declarations), a block with private and protected nested types,
// #regions and comments between the statements, an expression-bodied parallel block, and a forward that
// copies its input into a local of another name first.
namespace Ports.ClassShapes;

public sealed class TokenMixer : Module<Tensor, Tensor>
{
    private readonly Linear value, output;

    public TokenMixer(long dim) : base(nameof(TokenMixer))
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

    public FeedForward(long dim, long hidden) : base(nameof(FeedForward))
    {
        fc1 = Linear(dim, hidden);
        fc2 = Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>A MetaFormer block generic in its token mixer.</summary>
[HyperConnected]
public sealed partial class MetaFormerBlock<TMixer> : Module<Tensor, Tensor> where TMixer : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly TMixer token_mixer;
    private readonly FeedForward mlp;

    public MetaFormerBlock(long dim, TMixer mixer) : base("MetaFormerBlock")
    {
        norm1 = LayerNorm(dim);
        token_mixer = mixer;
        norm2 = LayerNorm(dim);
        mlp = new FeedForward(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_token_mixer.forward(x, h => token_mixer.forward(norm1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>A block already split in two partial declarations: the modules here, the forward below.</summary>
public sealed partial class SplitBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly TokenMixer mixer;
    private readonly FeedForward ffn;

    public SplitBlock(long dim) : base(nameof(SplitBlock))
    {
        ln_1 = LayerNorm(dim);
        mixer = new TokenMixer(dim);
        ln_2 = LayerNorm(dim);
        ffn = new FeedForward(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }
}

[HyperConnected]
public sealed partial class SplitBlock
{
    public override Tensor forward(Tensor x)
    {
        x = hc_mixer.forward(x, h => mixer.forward(ln_1.forward(h)));   // expect: MHC0001
        x = hc_ffn.forward(x, h => ffn.forward(ln_2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>Its MLP is a private nested module class, its sizes a protected nested record struct.</summary>
[HyperConnected]
public partial class NestedTypesBlock : Module<Tensor, Tensor>
{
    protected readonly record struct Sizes(long Model, long Hidden);

    private sealed class GluMlp : Module<Tensor, Tensor>
    {
        private readonly Linear proj_in, proj_out;

        public GluMlp(Sizes sizes) : base(nameof(GluMlp))
        {
            proj_in = Linear(sizes.Model, 2 * sizes.Hidden);
            proj_out = Linear(sizes.Hidden, sizes.Model);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var halves = proj_in.forward(x).chunk(2, -1);
            return proj_out.forward(halves[0] * functional.sigmoid(halves[1]));
        }
    }

    private readonly LayerNorm norm;
    private readonly GluMlp glu;

    public NestedTypesBlock(long dim) : base(nameof(NestedTypesBlock))
    {
        var sizes = new Sizes(dim, 3 * dim);
        norm = LayerNorm(sizes.Model);
        glu = new GluMlp(sizes);
        InitializeHyperConnections(channels: sizes.Model);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        return hc_glu.forward(x, h => glu.forward(norm.forward(h)));   // expect: MHC0001
    }
}

/// <summary>Comments between the statements of the forward; the input copied to another name first.</summary>
[HyperConnected]
public sealed partial class CommentedBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm attn_norm, mlp_norm;
    private readonly TokenMixer attn;
    private readonly FeedForward mlp;
    private readonly Dropout drop;

    public CommentedBlock(long dim) : base(nameof(CommentedBlock))
    {
        attn_norm = LayerNorm(dim);
        attn = new TokenMixer(dim);
        mlp_norm = LayerNorm(dim);
        mlp = new FeedForward(dim, 4 * dim);
        drop = Dropout(0.1);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor input)
    {
        var x = input;

        // Pre-norm: normalize, mix, drop.
        x = hc_attn.forward(x, s =>
        {
            var h = attn_norm.forward(s);
            /* the mixer is causal */
            h = attn.forward(h);
            h = drop.forward(h);   // dropout on the branch only
            return h;
        });   // expect: MHC0001

        // Same again for the MLP.
        x = hc_mlp.forward(x, s => drop.forward(mlp.forward(mlp_norm.forward(s))));   // expect: MHC0001
        return x;
    }
}

/// <summary>The two halves of the forward in #regions.</summary>
[HyperConnected]
public sealed partial class RegionBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm attn_norm, mlp_norm;
    private readonly TokenMixer attn;
    private readonly FeedForward mlp;

    public RegionBlock(long dim) : base(nameof(RegionBlock))
    {
        attn_norm = LayerNorm(dim);
        attn = new TokenMixer(dim);
        mlp_norm = LayerNorm(dim);
        mlp = new FeedForward(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        #region attention
        x = hc_attn.forward(x, s =>
        {
            var h = attn_norm.forward(s);
            h = attn.forward(h);
            return h;
        });   // expect: MHC0001
        #endregion

        #region feed-forward
        x = hc_mlp.forward(x, s => mlp.forward(mlp_norm.forward(s)));   // expect: MHC0001
        #endregion

        return x;
    }
}

/// <summary>GPT-J's parallel block in one expression: one norm, called twice, feeding both branches.</summary>
[HyperConnected]
public sealed partial class ParallelBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1;
    private readonly TokenMixer attn;
    private readonly FeedForward mlp;

    public ParallelBlock(long dim) : base(nameof(ParallelBlock))
    {
        ln_1 = LayerNorm(dim);
        attn = new TokenMixer(dim);
        mlp = new FeedForward(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => hc_attn_mlp.forward(x, h => attn.forward(ln_1.forward(h)) + mlp.forward(ln_1.forward(h)));   // expect: MHC0001
}

public sealed class ShapesModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<MetaFormerBlock<TokenMixer>> metaformer;
    private readonly ModuleList<SplitBlock> split;
    private readonly ModuleList<NestedTypesBlock> nested;
    private readonly ModuleList<CommentedBlock> commented;
    private readonly ModuleList<RegionBlock> regions;
    private readonly ModuleList<ParallelBlock> parallel;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public ShapesModel(long vocab = 32, long dim = 16) : base(nameof(ShapesModel))
    {
        embed = Embedding(vocab, dim);
        metaformer = new ModuleList<MetaFormerBlock<TokenMixer>>(Enumerable.Range(0, 2).Select(_ => new MetaFormerBlock<TokenMixer>(dim, new TokenMixer(dim))).ToArray());
        split = new ModuleList<SplitBlock>(new SplitBlock(dim), new SplitBlock(dim));
        nested = new ModuleList<NestedTypesBlock>(new NestedTypesBlock(dim), new NestedTypesBlock(dim));
        commented = new ModuleList<CommentedBlock>(new CommentedBlock(dim), new CommentedBlock(dim));
        regions = new ModuleList<RegionBlock>(new RegionBlock(dim), new RegionBlock(dim));
        parallel = new ModuleList<ParallelBlock>(new ParallelBlock(dim), new ParallelBlock(dim));
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);
        x = HyperStreams.Expand(x, MetaFormerBlock<TokenMixer>.HyperConnectionStreams);
        x = HyperStreams.Run(x, metaformer, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, split, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, nested, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, commented, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, regions, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, parallel, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        return head.forward(norm.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new ShapesModel();

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(7).remainder(32);
        return ((ShapesModel)model).forward(tokens);
    }
}
