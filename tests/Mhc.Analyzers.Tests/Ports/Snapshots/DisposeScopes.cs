using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Blocks that free their temporaries the TorchSharp way: a using statement around the body returning
// MoveToOuterDisposeScope(), scope.MoveToOuter(x), and a using declaration of a discarded scope.
namespace Ports.DisposeScopes;

public sealed class CausalAttention : Module<Tensor, Tensor>
{
    private readonly Linear c_attn, c_proj;
    private readonly long n_head;

    public CausalAttention(long n_embd, long n_head) : base(nameof(CausalAttention))
    {
        this.n_head = n_head;
        c_attn = Linear(n_embd, 3 * n_embd);
        c_proj = Linear(n_embd, n_embd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (B, T, C) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = c_attn.forward(x).split(C, 2);
        var q = qkv[0].view(B, T, n_head, C / n_head).transpose(1, 2);
        var k = qkv[1].view(B, T, n_head, C / n_head).transpose(1, 2);
        var v = qkv[2].view(B, T, n_head, C / n_head).transpose(1, 2);
        var y = functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return c_proj.forward(y.transpose(1, 2).contiguous().view(B, T, C)).MoveToOuterDisposeScope();
    }
}

public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear c_fc, c_proj;

    public Mlp(long n_embd) : base(nameof(Mlp))
    {
        c_fc = Linear(n_embd, 4 * n_embd);
        c_proj = Linear(4 * n_embd, n_embd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using (var scope = NewDisposeScope())
        {
            var h = functional.gelu(c_fc.forward(x));
            return scope.MoveToOuter(c_proj.forward(h));
        }
    }
}

/// <summary>The whole body in a using statement; the result leaves by MoveToOuterDisposeScope().</summary>
[HyperConnected]
public sealed partial class ScopedBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly CausalAttention attn;
    private readonly Mlp mlp;

    public ScopedBlock(long n_embd, long n_head) : base(nameof(ScopedBlock))
    {
        ln_1 = LayerNorm(n_embd);
        attn = new CausalAttention(n_embd, n_head);
        ln_2 = LayerNorm(n_embd);
        mlp = new Mlp(n_embd);
        InitializeHyperConnections(channels: n_embd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using (var scope = NewDisposeScope())
        {
            x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));   // expect: MHC0001
            x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));   // expect: MHC0001
            return x.MoveToOuterDisposeScope();
        }
    }
}

/// <summary>A using declaration of the scope; the result leaves by scope.MoveToOuter(...).</summary>
[HyperConnected]
public sealed partial class MoveToOuterBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly CausalAttention attn;
    private readonly Mlp ffn;

    public MoveToOuterBlock(long dim, long heads) : base(nameof(MoveToOuterBlock))
    {
        norm1 = LayerNorm(dim);
        attn = new CausalAttention(dim, heads);
        norm2 = LayerNorm(dim);
        ffn = new Mlp(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = hc_attn.forward(x, s => attn.forward(norm1.forward(s)));   // expect: MHC0001
        var output = hc_ffn.forward(h, s => ffn.forward(norm2.forward(s)));   // expect: MHC0001
        return scope.MoveToOuter(output);
    }
}

/// <summary>A discarded scope (<c>using var _</c>) and a residual computed into a local first.</summary>
[HyperConnected]
public sealed partial class DiscardScopeBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm pre_norm, post_norm;
    private readonly CausalAttention mixer;
    private readonly Mlp mlp;
    private readonly Dropout drop;

    public DiscardScopeBlock(long dim) : base(nameof(DiscardScopeBlock))
    {
        pre_norm = LayerNorm(dim);
        mixer = new CausalAttention(dim, 2);
        post_norm = LayerNorm(dim);
        mlp = new Mlp(dim);
        drop = Dropout(0.1);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var _ = NewDisposeScope();
        x = hc_mixer.forward(x, h =>
        {
            var mixed = drop.forward(mixer.forward(pre_norm.forward(h)));
            return mixed;
        });   // expect: MHC0001
        x = hc_mlp.forward(x, h => drop.forward(mlp.forward(post_norm.forward(h))));   // expect: MHC0001
        return x.MoveToOuterDisposeScope();
    }
}

public sealed class ScopedGpt : Module<Tensor, Tensor>
{
    private readonly Embedding wte, wpe;
    private readonly ModuleList<ScopedBlock> h;
    private readonly ModuleList<MoveToOuterBlock> mid;
    private readonly ModuleList<DiscardScopeBlock> tail;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;

    public ScopedGpt(long vocab = 32, long context = 16, long n_embd = 16) : base(nameof(ScopedGpt))
    {
        wte = Embedding(vocab, n_embd);
        wpe = Embedding(context, n_embd);
        h = new ModuleList<ScopedBlock>(Enumerable.Range(0, 2).Select(_ => new ScopedBlock(n_embd, 2)).ToArray());
        mid = new ModuleList<MoveToOuterBlock>(Enumerable.Range(0, 2).Select(_ => new MoveToOuterBlock(n_embd, 4)).ToArray());
        tail = new ModuleList<DiscardScopeBlock>(Enumerable.Range(0, 2).Select(_ => new DiscardScopeBlock(n_embd)).ToArray());
        ln_f = LayerNorm(n_embd);
        lm_head = Linear(n_embd, vocab, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor idx)
    {
        using (var scope = NewDisposeScope())
        {
            using var pos = arange(0, idx.shape[1], dtype: ScalarType.Int64);
            var x = wte.forward(idx) + wpe.forward(pos);   // not residual: token and position embeddings
            x = HyperStreams.Expand(x, ScopedBlock.HyperConnectionStreams);
            x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));
            x = HyperStreams.Run(x, mid, (block, streams) => block.forward(streams));
            x = HyperStreams.Run(x, tail, (block, streams) => block.forward(streams));
            x = HyperStreams.Reduce(x);
            x = ln_f.forward(x);
            return scope.MoveToOuter(lm_head.forward(x));
        }
    }
}

public static class Harness
{
    public static Module Create() => new ScopedGpt();

    public static Tensor Run(Module model)
    {
        using var idx = arange(0, 20, dtype: ScalarType.Int64).view(2, 10).mul(13).remainder(32);
        return ((ScopedGpt)model).forward(idx);
    }
}
