using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// More residual connections that must be reported as not convertible (MHC0002), each stacked so that its
// own reason is the only one: BERT's post-norm spread over modules (the identity comes in as a second
// argument), post-norm with the identity on the right, a residual along a projection of the input, a block
// that returns its stream together with a summary of it, a conditional residual on a ternary of the sum, and
// post-norm through the functional layer_norm, on the sum itself and on a local that holds it.
namespace Ports.NotConvertibleMore;

public sealed class BertSelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear query, key, value;
    private readonly long heads;

    public BertSelfAttention(long hidden, long heads) : base(nameof(BertSelfAttention))
    {
        this.heads = heads;
        query = Linear(hidden, hidden);
        key = Linear(hidden, hidden);
        value = Linear(hidden, hidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states)
    {
        var (b, t, c) = (hidden_states.shape[0], hidden_states.shape[1], hidden_states.shape[2]);
        Tensor Heads(Tensor s) => s.view(b, t, heads, c / heads).transpose(1, 2);
        var context = functional.scaled_dot_product_attention(
            Heads(query.forward(hidden_states)), Heads(key.forward(hidden_states)), Heads(value.forward(hidden_states)));
        return context.transpose(1, 2).reshape(b, t, c);
    }
}

/// <summary>BERT's output module: dense, dropout, then LayerNorm of the sum with the block's input.</summary>
public sealed class BertSelfOutput : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly LayerNorm LayerNorm;
    private readonly Dropout dropout;

    public BertSelfOutput(long hidden) : base(nameof(BertSelfOutput))
    {
        dense = Linear(hidden, hidden);
        LayerNorm = nn.LayerNorm(hidden, eps: 1e-12);
        dropout = Dropout(0.1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor input_tensor)
    {
        hidden_states = dropout.forward(dense.forward(hidden_states));
        return LayerNorm.forward(hidden_states + input_tensor);   // expect: MHC0002 post-norm
    }
}

/// <summary>Ties them together: the input goes into the attention and, as the identity, into the output.</summary>
public sealed class BertAttention : Module<Tensor, Tensor>
{
    private readonly BertSelfAttention self;
    private readonly BertSelfOutput output;

    public BertAttention(long hidden, long heads) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(hidden, heads);
        output = new BertSelfOutput(hidden);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states) => output.forward(self.forward(hidden_states), hidden_states);
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

/// <summary>Post-norm with the identity on the right, in one expression and over two statements.</summary>
public sealed class PostNormRight : Module<Tensor, Tensor>
{
    private readonly BertSelfAttention attn;
    private readonly LayerNorm norm1, norm2;
    private readonly Mlp mlp;

    public PostNormRight(long dim) : base(nameof(PostNormRight))
    {
        attn = new BertSelfAttention(dim, 2);
        norm1 = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        norm2 = LayerNorm(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor src)
    {
        src = norm1.forward(attn.forward(src) + src);   // expect: MHC0002 post-norm
        var src2 = mlp.forward(src);
        src = src2 + src;   // expect: MHC0002 post-norm
        return norm2.forward(src);
    }
}

/// <summary>The residual runs along a projection of the block's input, not the input itself.</summary>
public sealed class ProjectedResidual : Module<Tensor, Tensor>
{
    private readonly Linear proj_in;
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public ProjectedResidual(long dim) : base(nameof(ProjectedResidual))
    {
        proj_in = Linear(dim, dim);
        norm = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = proj_in.forward(x);
        y = y + mlp.forward(norm.forward(y));   // expect: MHC0002 inner-identity
        return y;
    }
}

/// <summary>Hands back its stream and the stream's mean over the tokens (for an auxiliary head).</summary>
public sealed class SummaryBlock : Module<Tensor, (Tensor Hidden, Tensor Summary)>
{
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public SummaryBlock(long dim) : base(nameof(SummaryBlock))
    {
        norm = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor Summary) forward(Tensor x)
    {
        x = x + mlp.forward(norm.forward(x));   // expect: MHC0002 stream-escapes
        return (x, x.mean(new long[] { 1 }));
    }
}

/// <summary>Whether to add the identity is decided per call, on a ternary of the whole sum.</summary>
public sealed class GatedSkipBlock : Module<Tensor, bool, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Mlp mlp;

    public GatedSkipBlock(long dim) : base(nameof(GatedSkipBlock))
    {
        norm = LayerNorm(dim);
        mlp = new Mlp(dim, 2 * dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, bool skip)
    {
        var branch = mlp.forward(norm.forward(x));
        return skip ? x + branch : branch;   // expect: MHC0002 conditional
    }
}

/// <summary>Post-norm written with the functional norm, the sum its argument.</summary>
public sealed class FunctionalPostNorm : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly long[] normalized_shape;

    public FunctionalPostNorm(long dim) : base(nameof(FunctionalPostNorm))
    {
        dense = Linear(dim, dim);
        normalized_shape = new[] { dim };
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => functional.layer_norm(x + dense.forward(x), normalized_shape);   // expect: MHC0002 post-norm
}

/// <summary>The same, the sum held in a local first.</summary>
public sealed class FunctionalPostNormLocal : Module<Tensor, Tensor>
{
    private readonly Linear dense;
    private readonly long dim;

    public FunctionalPostNormLocal(long dim) : base(nameof(FunctionalPostNormLocal))
    {
        this.dim = dim;
        dense = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var y = x + functional.gelu(dense.forward(x));   // expect: MHC0002 post-norm
        return functional.layer_norm(y, new[] { dim });
    }
}

public sealed class NotConvertibleMoreModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<BertAttention> bert;
    private readonly ModuleList<PostNormRight> post_norm;
    private readonly ModuleList<ProjectedResidual> projected;
    private readonly ModuleList<SummaryBlock> summary;
    private readonly ModuleList<GatedSkipBlock> gated;
    private readonly ModuleList<FunctionalPostNorm> functional_norm;
    private readonly ModuleList<FunctionalPostNormLocal> functional_norm_local;
    private readonly Linear head, aux_head;

    public NotConvertibleMoreModel(long vocab = 32, long dim = 16) : base(nameof(NotConvertibleMoreModel))
    {
        embed = Embedding(vocab, dim);
        bert = new ModuleList<BertAttention>(new BertAttention(dim, 2), new BertAttention(dim, 2));
        post_norm = new ModuleList<PostNormRight>(new PostNormRight(dim), new PostNormRight(dim));
        projected = new ModuleList<ProjectedResidual>(new ProjectedResidual(dim), new ProjectedResidual(dim));
        summary = new ModuleList<SummaryBlock>(new SummaryBlock(dim), new SummaryBlock(dim));
        gated = new ModuleList<GatedSkipBlock>(new GatedSkipBlock(dim), new GatedSkipBlock(dim));
        functional_norm = new ModuleList<FunctionalPostNorm>(new FunctionalPostNorm(dim), new FunctionalPostNorm(dim));
        functional_norm_local = new ModuleList<FunctionalPostNormLocal>(new FunctionalPostNormLocal(dim), new FunctionalPostNormLocal(dim));
        head = Linear(dim, vocab);
        aux_head = Linear(dim, 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens)
    {
        var x = embed.forward(tokens);
        foreach (var layer in bert)
            x = layer.forward(x);
        foreach (var layer in post_norm)
            x = layer.forward(x);
        foreach (var layer in projected)
            x = layer.forward(x);
        var aux = zeros(x.shape[0], 2);
        foreach (var layer in summary)
        {
            var (hidden, pooled) = layer.forward(x);
            x = hidden;
            aux = aux + aux_head.forward(pooled);   // not residual: auxiliary logits summed over the layers
        }

        for (var i = 0; i < gated.Count; i++)
            x = gated[i].forward(x, i % 2 == 0);
        foreach (var layer in functional_norm)
            x = layer.forward(x);
        foreach (var layer in functional_norm_local)
            x = layer.forward(x);
        return cat(new[] { head.forward(x).flatten(), aux.flatten() }, 0);
    }
}

public static class Harness
{
    public static Module Create() => new NotConvertibleMoreModel();

    public static Tensor Run(Module model)
    {
        using var tokens = arange(0, 12, dtype: ScalarType.Int64).view(2, 6).mul(7).remainder(32);
        return ((NotConvertibleMoreModel)model).forward(tokens);
    }
}
