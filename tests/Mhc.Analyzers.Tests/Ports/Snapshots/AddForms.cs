using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.AddForms;

public sealed class SelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear qkv, proj;
    private readonly long heads;

    public SelfAttention(long dim, long heads) : base(nameof(SelfAttention))
    {
        this.heads = heads;
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var chunks = qkv.forward(x).view(b, t, 3, heads, c / heads).permute(2, 0, 3, 1, 4);
        var y = functional.scaled_dot_product_attention(chunks[0], chunks[1], chunks[2], is_casual: true);
        return proj.forward(y.transpose(1, 2).reshape(b, t, c));
    }
}

public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear up, down;

    public FeedForward(long dim) : base(nameof(FeedForward))
    {
        up = Linear(dim, 2 * dim);
        down = Linear(2 * dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down.forward(functional.relu(up.forward(x)));
}

/// <summary>A macaron block (half-step feed-forward, attention, half-step feed-forward) with its sums spelled as method calls.</summary>
[HyperConnected]
public sealed partial class MacaronBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ff1_norm, attn_norm, ff2_norm;
    private readonly FeedForward ff1, ff2;
    private readonly SelfAttention attn;

    public MacaronBlock(long dim) : base(nameof(MacaronBlock))
    {
        ff1_norm = LayerNorm(dim);
        ff1 = new FeedForward(dim);
        attn_norm = LayerNorm(dim);
        attn = new SelfAttention(dim, 2);
        ff2_norm = LayerNorm(dim);
        ff2 = new FeedForward(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_ff1.forward(x, h => 0.5 * ff1.forward(ff1_norm.forward(h)));   // expect: MHC0001
        x = hc_attn.forward(x, h => attn.forward(attn_norm.forward(h)));   // expect: MHC0001
        x = hc_ff2.forward(x, h => ff2.forward(ff2_norm.forward(h)).mul(0.5));   // expect: MHC0001
        return x;
    }
}

public sealed class AddFormsModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<MacaronBlock> blocks;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public AddFormsModel(long vocab = 32, long dim = 16) : base(nameof(AddFormsModel))
    {
        embed = Embedding(vocab, dim);
        blocks = new ModuleList<MacaronBlock>(new MacaronBlock(dim), new MacaronBlock(dim));
        norm = LayerNorm(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);
        x = HyperStreams.Expand(x, MacaronBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, blocks, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        return head.forward(norm.forward(x));
    }
}

public static class Harness
{
    public static Module Create() => new AddFormsModel();

    public static Tensor Run(Module model)
    {
        // The in-place add_ changes a tensor autograd may have saved: run as inference.
        using var noGrad = no_grad();
        using var tokens = arange(0, 20, dtype: ScalarType.Int64).view(2, 10).mul(3).remainder(32);
        return ((AddFormsModel)model).forward(tokens);
    }
}
