using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// One block class stacked by two models (a text tower and an image tower of a dual encoder); one stack run
// half in Encode and half in Decode (a U-ViT); and a block class that is stacked but also called once on its
// own, outside the stack.
namespace Ports.SharedBlocks;

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
        var (b, n, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var parts = qkv.forward(x).view(b, n, 3, heads, c / heads).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);
        return proj.forward(y.transpose(1, 2).reshape(b, n, c));
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

/// <summary>The block both towers stack.</summary>
[HyperConnected]
public sealed partial class TransformerBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly Attention attn;
    private readonly Mlp mlp;

    public TransformerBlock(long width, long heads) : base(nameof(TransformerBlock))
    {
        ln_1 = LayerNorm(width);
        attn = new Attention(width, heads);
        ln_2 = LayerNorm(width);
        mlp = new Mlp(width, 4 * width);
        InitializeHyperConnections(channels: width);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class TextTower : Module<Tensor, Tensor>
{
    private readonly Embedding token_embedding;
    private readonly ModuleList<TransformerBlock> resblocks;
    private readonly LayerNorm ln_final;
    private readonly Linear text_projection;

    public TextTower(long vocab, long width, int layers, long embedDim) : base(nameof(TextTower))
    {
        token_embedding = Embedding(vocab, width);
        resblocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, layers).Select(_ => new TransformerBlock(width, 2)).ToArray());
        ln_final = LayerNorm(width);
        text_projection = Linear(width, embedDim, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor text)
    {
        var x = token_embedding.forward(text);
        x = HyperStreams.Expand(x, TransformerBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, resblocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        x = ln_final.forward(x);
        return text_projection.forward(x.select(1, -1));
    }
}

public sealed class ImageTower : Module<Tensor, Tensor>
{
    private readonly Linear conv1;
    private readonly LayerNorm ln_pre, ln_post;
    private readonly ModuleList<TransformerBlock> transformer;
    private readonly Linear proj;

    public ImageTower(long patchDim, long width, int layers, long embedDim) : base(nameof(ImageTower))
    {
        conv1 = Linear(patchDim, width, hasBias: false);
        ln_pre = LayerNorm(width);
        transformer = new ModuleList<TransformerBlock>(Enumerable.Range(0, layers).Select(_ => new TransformerBlock(width, 4)).ToArray());
        ln_post = LayerNorm(width);
        proj = Linear(width, embedDim, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor patches)
    {
        var x = ln_pre.forward(conv1.forward(patches));
        x = HyperStreams.Expand(x, TransformerBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, transformer, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        return proj.forward(ln_post.forward(x.mean(new long[] { 1 })));
    }
}

/// <summary>U-ViT's blocks: the first half runs in Encode, the second half in Decode.</summary>
[HyperConnected]
public sealed partial class UBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Attention attn;
    private readonly Mlp mlp;

    public UBlock(long dim) : base(nameof(UBlock))
    {
        norm1 = LayerNorm(dim);
        attn = new Attention(dim, 2);
        norm2 = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(norm1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class UVit : Module<Tensor, Tensor>
{
    private readonly Linear patch_embed;
    private readonly ModuleList<UBlock> blocks;
    private readonly LayerNorm norm;
    private readonly Linear decoder_pred;

    public UVit(long patchDim, long dim, int depth) : base(nameof(UVit))
    {
        patch_embed = Linear(patchDim, dim);
        blocks = new ModuleList<UBlock>(Enumerable.Range(0, depth).Select(_ => new UBlock(dim)).ToArray());
        norm = LayerNorm(dim);
        decoder_pred = Linear(dim, patchDim);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public Tensor Encode(Tensor patches)
    {
        var x = patch_embed.forward(patches);
        x = HyperStreams.Expand(x, UBlock.HyperConnectionStreams);
        for (var i = 0; i < blocks.Count / 2; i++)
            x = blocks[i].forward(x);
        x = HyperStreams.Reduce(x);
        return x;
    }

    public Tensor Decode(Tensor latent)
    {
        var x = latent;
        x = HyperStreams.Expand(x, UBlock.HyperConnectionStreams);
        for (var i = blocks.Count / 2; i < blocks.Count; i++)
            x = blocks[i].forward(x);
        x = HyperStreams.Reduce(x);
        return decoder_pred.forward(norm.forward(x));
    }

    public override Tensor forward(Tensor patches) => Decode(Encode(patches));
}

/// <summary>A refinement block stacked by the dual encoder, and called once more on its own after the stack.</summary>
public sealed class RefineBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public RefineBlock(long dim) : base(nameof(RefineBlock))
    {
        norm = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => x + mlp.forward(norm.forward(x));   // expect: MHC0002 stack
}

public sealed class DualEncoder : Module<Tensor, Tensor, Tensor>
{
    private readonly TextTower text;
    private readonly ImageTower visual;
    private readonly UVit reconstruction;
    private readonly ModuleList<RefineBlock> refiners;
    private readonly RefineBlock final_refiner;
    private readonly Parameter logit_scale;

    public DualEncoder(long vocab = 32, long patchDim = 12, long width = 16, long embedDim = 8) : base(nameof(DualEncoder))
    {
        text = new TextTower(vocab, width, 2, embedDim);
        visual = new ImageTower(patchDim, width, 2, embedDim);
        reconstruction = new UVit(patchDim, width, 4);
        refiners = new ModuleList<RefineBlock>(new RefineBlock(embedDim), new RefineBlock(embedDim));
        final_refiner = new RefineBlock(embedDim);
        logit_scale = Parameter(tensor(Math.Log(1 / 0.07), dtype: ScalarType.Float32));
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens, Tensor patches)
    {
        var textFeatures = text.forward(tokens);
        var imageFeatures = visual.forward(patches);
        foreach (var refiner in refiners)
            imageFeatures = refiner.forward(imageFeatures);
        imageFeatures = final_refiner.forward(imageFeatures);

        textFeatures = textFeatures / textFeatures.norm(1, true);
        imageFeatures = imageFeatures / imageFeatures.norm(1, true);
        var logits = logit_scale.exp() * imageFeatures.matmul(textFeatures.t());
        var reconstructed = reconstruction.forward(patches);
        return cat(new[] { logits.flatten(), reconstructed.flatten() }, 0);
    }
}

public static class Harness
{
    public static Module Create() => new DualEncoder();

    public static Tensor Run(Module model)
    {
        manual_seed(4);
        using var tokens = randint(1, 32, new long[] { 3, 6 }, dtype: ScalarType.Int64);
        using var patches = randn(3, 4, 12);
        return ((DualEncoder)model).forward(tokens, patches);
    }
}
