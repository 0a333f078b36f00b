using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Branches scaled before they are added (a learned per-channel gamma Parameter as CaiT writes it, a constant
// residual scale dividing the branch), and branches that are private helper methods of the block.
namespace Ports.ScaledBranches;

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

public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly long num_heads;

    public Attention(long dim, long num_heads) : base(nameof(Attention))
    {
        this.num_heads = num_heads;
        qkv = Linear(dim, 3 * dim, hasBias: false);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (B, N, C) = (x.shape[0], x.shape[1], x.shape[2]);
        var parts = qkv.forward(x).reshape(B, N, 3, num_heads, C / num_heads).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(parts[0], parts[1], parts[2]);
        return proj.forward(y.transpose(1, 2).reshape(B, N, C));
    }
}

/// <summary>CaiT's LayerScale block: each branch multiplied by its own learned gamma before the sum.</summary>
[HyperConnected]
public sealed partial class LayerScaleBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Attention attn;
    private readonly Mlp mlp;
    private readonly Parameter gamma_1, gamma_2;

    public LayerScaleBlock(long dim, long num_heads, double init_values = 0.1) : base(nameof(LayerScaleBlock))
    {
        norm1 = LayerNorm(dim, eps: 1e-6);
        attn = new Attention(dim, num_heads);
        norm2 = LayerNorm(dim, eps: 1e-6);
        mlp = new Mlp(dim, 4 * dim);
        gamma_1 = Parameter(init_values * ones(dim));
        gamma_2 = Parameter(init_values * ones(dim));
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(norm1.forward(h)) * gamma_1);   // expect: MHC0001
        x = hc_mlp.forward(x, h => gamma_2 * mlp.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>
/// Attention written inline as a private method of the block, and a feed-forward branch divided by a
/// depth-dependent residual scale.
/// </summary>
[HyperConnected]
public sealed partial class HelperMethodBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly Linear c_attn, c_proj;
    private readonly Mlp mlp;
    private readonly long n_head;
    private readonly double scale;

    public HelperMethodBlock(long n_embd, long n_head, int n_layer) : base(nameof(HelperMethodBlock))
    {
        this.n_head = n_head;
        scale = Math.Sqrt(2.0 * n_layer);
        ln_1 = LayerNorm(n_embd);
        c_attn = Linear(n_embd, 3 * n_embd);
        c_proj = Linear(n_embd, n_embd);
        ln_2 = LayerNorm(n_embd);
        mlp = new Mlp(n_embd, 4 * n_embd);
        InitializeHyperConnections(channels: n_embd);
        RegisterComponents();
    }

    private Tensor SelfAttention(Tensor x)
    {
        var (B, T, C) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = c_attn.forward(x).view(B, T, 3, n_head, C / n_head).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], is_casual: true);
        return c_proj.forward(y.transpose(1, 2).reshape(B, T, C));
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_self_attention.forward(x, h => SelfAttention(ln_1.forward(h)));   // expect: MHC0001
        x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)) / scale);   // expect: MHC0001
        return x;
    }
}

/// <summary>Both branches are helper methods of the block, one of them an expression-bodied one with its own norm inside.</summary>
[HyperConnected]
public sealed partial class HelperNormBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm attn_norm, ffn_norm;
    private readonly Attention attention;
    private readonly Linear w1, w2;

    public HelperNormBlock(long dim) : base(nameof(HelperNormBlock))
    {
        attn_norm = LayerNorm(dim);
        attention = new Attention(dim, 2);
        ffn_norm = LayerNorm(dim);
        w1 = Linear(dim, 2 * dim);
        w2 = Linear(2 * dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    private Tensor AttentionBranch(Tensor x) => attention.forward(attn_norm.forward(x));

    private Tensor FeedForward(Tensor x)
    {
        var h = ffn_norm.forward(x);
        return w2.forward(functional.silu(w1.forward(h)));
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attention_branch.forward(x, s => AttentionBranch(s));   // expect: MHC0001
        x = hc_feed_forward.forward(x, s => 0.5 * FeedForward(s));   // expect: MHC0001
        return x;
    }
}

public sealed class ScaledModel : Module<Tensor, Tensor>
{
    private readonly Linear patch_embed;
    private readonly ModuleList<LayerScaleBlock> blocks;
    private readonly ModuleList<HelperMethodBlock> helper_blocks;
    private readonly ModuleList<HelperNormBlock> norm_blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public ScaledModel(long inDim = 12, long dim = 16, int depth = 2, long classes = 5) : base(nameof(ScaledModel))
    {
        patch_embed = Linear(inDim, dim);
        blocks = new ModuleList<LayerScaleBlock>(Enumerable.Range(0, depth).Select(_ => new LayerScaleBlock(dim, 2)).ToArray());
        helper_blocks = new ModuleList<HelperMethodBlock>(Enumerable.Range(0, depth).Select(_ => new HelperMethodBlock(dim, 2, depth)).ToArray());
        norm_blocks = new ModuleList<HelperNormBlock>(Enumerable.Range(0, depth).Select(_ => new HelperNormBlock(dim)).ToArray());
        norm = LayerNorm(dim);
        head = Linear(dim, classes);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor patches)
    {
        var x = patch_embed.forward(patches);
        x = HyperStreams.Expand(x, LayerScaleBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, blocks, (blk, streams) => blk.forward(streams));
        x = HyperStreams.Run(x, helper_blocks, (blk, streams) => blk.forward(streams));
        x = HyperStreams.Run(x, norm_blocks, (blk, streams) => blk.forward(streams));
        x = HyperStreams.Reduce(x);
        x = norm.forward(x);
        return head.forward(x.mean(new long[] { 1 }));
    }
}

public static class Harness
{
    public static Module Create() => new ScaledModel();

    public static Tensor Run(Module model)
    {
        manual_seed(21);
        using var patches = randn(2, 5, 12);
        return ((ScaledModel)model).forward(patches);
    }
}
