using System;
using System.Linq;
using Mhc.Runtime;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using TorchSharp.Modules;

namespace Ports.VitLike;

/// <summary>Stochastic depth: drops the whole branch per sample while training, identity in eval.</summary>
public sealed class DropPath : Module<Tensor, Tensor>
{
    private readonly double drop_prob;

    public DropPath(double dropProb = 0.0) : base(nameof(DropPath)) => drop_prob = dropProb;

    public override Tensor forward(Tensor x)
    {
        if (drop_prob == 0.0 || !training)
            return x;
        var keep = 1 - drop_prob;
        var shape = new long[x.dim()];
        Array.Fill(shape, 1L);
        shape[0] = x.shape[0];
        var mask = empty(shape, dtype: x.dtype).bernoulli_(keep);
        return x.div(keep) * mask;
    }
}

/// <summary>A learned per-channel scale on a branch's output.</summary>
public sealed class LayerScale : Module<Tensor, Tensor>
{
    private readonly Parameter gamma;

    public LayerScale(long dim, double initValues = 1.0) : base(nameof(LayerScale))
    {
        gamma = Parameter(initValues * ones(dim));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => gamma * x;
}

public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly Dropout attn_drop, proj_drop;
    private readonly long num_heads;
    private readonly double scale;

    public Attention(long dim, long numHeads = 4, bool qkvBias = true) : base(nameof(Attention))
    {
        num_heads = numHeads;
        scale = Math.Pow(dim / numHeads, -0.5);
        qkv = Linear(dim, dim * 3, hasBias: qkvBias);
        attn_drop = Dropout(0.0);
        proj = Linear(dim, dim);
        proj_drop = Dropout(0.0);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (B, N, C) = (x.shape[0], x.shape[1], x.shape[2]);
        var parts = qkv.forward(x).reshape(B, N, 3, num_heads, C / num_heads).permute(2, 0, 3, 1, 4).unbind(0);
        var (q, k, v) = (parts[0], parts[1], parts[2]);
        var attn = q.matmul(k.transpose(-2, -1)) * scale;
        attn = attn_drop.forward(attn.softmax(-1));
        x = attn.matmul(v).transpose(1, 2).reshape(B, N, C);
        return proj_drop.forward(proj.forward(x));
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;
    private readonly GELU act;
    private readonly Dropout drop;

    public Mlp(long inFeatures, long hiddenFeatures) : base(nameof(Mlp))
    {
        fc1 = Linear(inFeatures, hiddenFeatures);
        act = GELU();
        fc2 = Linear(hiddenFeatures, inFeatures);
        drop = Dropout(0.0);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => drop.forward(fc2.forward(drop.forward(act.forward(fc1.forward(x)))));
}

[HyperConnected]
public sealed partial class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Attention attn;
    private readonly LayerScale ls1, ls2;
    private readonly DropPath drop_path1, drop_path2;
    private readonly Mlp mlp;

    public Block(long dim, long numHeads, double mlpRatio = 4.0, double dropPath = 0.0) : base(nameof(Block))
    {
        norm1 = LayerNorm(dim, eps: 1e-6);
        attn = new Attention(dim, numHeads);
        ls1 = new LayerScale(dim);
        drop_path1 = new DropPath(dropPath);
        norm2 = LayerNorm(dim, eps: 1e-6);
        mlp = new Mlp(dim, (long)(dim * mlpRatio));
        ls2 = new LayerScale(dim);
        drop_path2 = new DropPath(dropPath);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => drop_path1.forward(ls1.forward(attn.forward(norm1.forward(h)))));   // expect: MHC0001
        x = hc_mlp.forward(x, h => drop_path2.forward(   // expect: MHC0001
            ls2.forward(mlp.forward(norm2.forward(h)))));
        return x;
    }
}

/// <summary>Images to a sequence of patch embeddings: a Linear over each flattened patch.</summary>
public sealed class PatchEmbed : Module<Tensor, Tensor>
{
    private readonly Linear proj;
    private readonly long patch_size;

    public PatchEmbed(long patchSize, long inChans, long embedDim) : base(nameof(PatchEmbed))
    {
        patch_size = patchSize;
        proj = Linear(inChans * patchSize * patchSize, embedDim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor images)
    {
        var (B, C, H, W) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3]);
        var p = patch_size;
        var patches = images.reshape(B, C, H / p, p, W / p, p).permute(0, 2, 4, 1, 3, 5).reshape(B, H / p * (W / p), C * p * p);
        return proj.forward(patches);
    }
}

public sealed class VisionTransformer : Module<Tensor, Tensor>
{
    private readonly PatchEmbed patch_embed;
    private readonly Parameter cls_token, pos_embed;
    private readonly Dropout pos_drop;
    private readonly Sequential blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public VisionTransformer(long imgSize = 8, long patchSize = 4, long inChans = 3, long numClasses = 10, long embedDim = 24, int depth = 2, long numHeads = 4)
        : base(nameof(VisionTransformer))
    {
        patch_embed = new PatchEmbed(patchSize, inChans, embedDim);
        var numPatches = imgSize / patchSize * (imgSize / patchSize);
        cls_token = Parameter(zeros(1, 1, embedDim));
        pos_embed = Parameter(randn(1, numPatches + 1, embedDim) * 0.02);
        pos_drop = Dropout(0.0);
        var dpr = Enumerable.Range(0, depth).Select(i => 0.1 * i / Math.Max(1, depth - 1)).ToArray();
        blocks = Sequential(Enumerable.Range(0, depth).Select(i => new Block(embedDim, numHeads, dropPath: dpr[i])));
        norm = LayerNorm(embedDim, eps: 1e-6);
        head = Linear(embedDim, numClasses);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
        init.normal_(cls_token, 0, 1e-2);
    }

    public override Tensor forward(Tensor images)
    {
        var x = patch_embed.forward(images);
        var cls = cls_token.expand(x.shape[0], -1, -1);
        x = cat(new[] { cls, x }, 1);
        x = x + pos_embed;   // not residual: learned position embedding
        x = pos_drop.forward(x);
        x = HyperStreams.Reduce(blocks.forward(HyperStreams.Expand(x, Block.HyperConnectionStreams)));
        x = norm.forward(x);
        return head.forward(x.select(1, 0));
    }
}

public static class Harness
{
    public static Module Create() => new VisionTransformer();

    public static Tensor Run(Module model)
    {
        var vit = (VisionTransformer)model;
        manual_seed(1234);
        using var images = randn(2, 3, 8, 8);
        return vit.forward(images);
    }
}
