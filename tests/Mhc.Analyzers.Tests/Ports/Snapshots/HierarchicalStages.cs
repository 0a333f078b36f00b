using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// A Swin/PVT-style hierarchy on token sequences: each stage owns its own stack of blocks and a patch merging
// that halves the tokens and doubles the width; the model runs the stages, not the blocks. Every stage's
// stack is a stack of its own, at its own width.
namespace Ports.HierarchicalStages;

public sealed class WindowAttention : Module<Tensor, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly long num_heads, window;

    public WindowAttention(long dim, long num_heads, long window) : base(nameof(WindowAttention))
    {
        this.num_heads = num_heads;
        this.window = window;
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    /// <summary>Attention within non-overlapping windows of <c>window</c> tokens.</summary>
    public override Tensor forward(Tensor x)
    {
        var (B, N, C) = (x.shape[0], x.shape[1], x.shape[2]);
        var windows = x.view(B * (N / window), window, C);
        var parts = qkv.forward(windows).view(-1, window, 3, num_heads, C / num_heads).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);
        y = y.transpose(1, 2).reshape(-1, window, C);
        return proj.forward(y).view(B, N, C);
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public Mlp(long in_features, long hidden_features) : base(nameof(Mlp))
    {
        fc1 = Linear(in_features, hidden_features);
        fc2 = Linear(hidden_features, in_features);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

[HyperConnected]
public sealed partial class SwinBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly WindowAttention attn;
    private readonly Mlp mlp;
    private readonly long shift;

    public SwinBlock(long dim, long num_heads, long window, bool shifted) : base(nameof(SwinBlock))
    {
        shift = shifted ? window / 2 : 0;
        norm1 = LayerNorm(dim);
        attn = new WindowAttention(dim, num_heads, window);
        norm2 = LayerNorm(dim);
        mlp = new Mlp(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, s =>
        {
            var h = norm1.forward(s);
            if (shift > 0)
                h = h.roll(-shift, 1);
            h = attn.forward(h);
            if (shift > 0)
                h = h.roll(shift, 1);
            return h;
        });   // expect: MHC0001

        x = hc_mlp.forward(x, s => mlp.forward(norm2.forward(s)));   // expect: MHC0001
        return x;
    }
}

/// <summary>Concatenates neighbouring tokens and projects them to twice the width.</summary>
public sealed class PatchMerging : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear reduction;

    public PatchMerging(long dim) : base(nameof(PatchMerging))
    {
        norm = LayerNorm(2 * dim);
        reduction = Linear(2 * dim, 2 * dim, hasBias: false);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (B, N, C) = (x.shape[0], x.shape[1], x.shape[2]);
        return reduction.forward(norm.forward(x.reshape(B, N / 2, 2 * C)));
    }
}

/// <summary>One stage: its blocks in a ModuleList, then an optional downsampling.</summary>
public sealed class BasicLayer : Module<Tensor, Tensor>
{
    private readonly ModuleList<SwinBlock> blocks;
    private readonly PatchMerging? downsample;

    public BasicLayer(long dim, int depth, long num_heads, long window, bool downsample) : base(nameof(BasicLayer))
    {
        blocks = new ModuleList<SwinBlock>(Enumerable.Range(0, depth).Select(i => new SwinBlock(dim, num_heads, window, shifted: i % 2 == 1)).ToArray());
        this.downsample = downsample ? new PatchMerging(dim) : null;
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor x)
    {
        x = HyperStreams.Expand(x, SwinBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, blocks, (blk, streams) => blk.forward(streams));
        x = HyperStreams.Reduce(x);
        if (downsample is not null)
            x = downsample.forward(x);
        return x;
    }
}

public sealed class SwinTransformer : Module<Tensor, Tensor>
{
    private readonly Linear patch_embed;
    private readonly ModuleList<BasicLayer> layers;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public SwinTransformer(long in_chans = 6, long embed_dim = 8, long num_classes = 4) : base(nameof(SwinTransformer))
    {
        patch_embed = Linear(in_chans, embed_dim);
        var depths = new[] { 2, 2 };
        var heads = new long[] { 2, 4 };
        layers = new ModuleList<BasicLayer>();
        for (var i = 0; i < depths.Length; i++)
        {
            var dim = embed_dim * (1L << i);
            layers.Add(new BasicLayer(dim, depths[i], heads[i], window: 4, downsample: i < depths.Length - 1));
        }

        norm = LayerNorm(embed_dim * (1L << (depths.Length - 1)));
        head = Linear(embed_dim * (1L << (depths.Length - 1)), num_classes);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = patch_embed.forward(x);
        foreach (var layer in layers)
            x = layer.forward(x);
        x = norm.forward(x);
        return head.forward(x.mean(new long[] { 1 }));
    }
}

public static class Harness
{
    public static Module Create() => new SwinTransformer();

    public static Tensor Run(Module model)
    {
        manual_seed(31);
        using var tokens = randn(2, 16, 6);
        return ((SwinTransformer)model).forward(tokens);
    }
}
