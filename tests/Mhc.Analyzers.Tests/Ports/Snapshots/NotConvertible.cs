using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Residual connections that must be reported as not convertible (MHC0002), each block for one reason;
// every block but LoneRefiner is stacked, so that its reason is the only one.
namespace Ports.NotConvertible;

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
        var weights = functional.softmax(x.matmul(x.transpose(-2, -1)) / 4.0, -1);
        return output.forward(weights.matmul(value.forward(x)));
    }
}

/// <summary>BERT-style post-norm layer: the norm is applied to the sum, in one statement or the next.</summary>
public sealed class PostNormLayer : Module<Tensor, Tensor>
{
    private readonly TokenMixer attention;
    private readonly LayerNorm attention_norm, output_norm;
    private readonly FeedForward intermediate;

    public PostNormLayer(long dim) : base(nameof(PostNormLayer))
    {
        attention = new TokenMixer(dim);
        attention_norm = LayerNorm(dim, 1e-12);
        intermediate = new FeedForward(dim);
        output_norm = LayerNorm(dim, 1e-12);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = attention_norm.forward(x + attention.forward(x));   // expect: MHC0002 post-norm
        x = x + intermediate.forward(x);   // expect: MHC0002 post-norm
        x = output_norm.forward(x);
        return x;
    }
}

/// <summary>A YOLO-style bottleneck whose shortcut is switched by a constructor flag.</summary>
public sealed class Bottleneck : Module<Tensor, Tensor>
{
    private readonly Linear cv1, cv2;
    private readonly bool add;

    public Bottleneck(long c, bool shortcut) : base(nameof(Bottleneck))
    {
        cv1 = Linear(c, c / 2);
        cv2 = Linear(c / 2, c);
        add = shortcut;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
        => add ? x + cv2.forward(functional.silu(cv1.forward(x))) : cv2.forward(functional.silu(cv1.forward(x)));   // expect: MHC0002 conditional
}

/// <summary>A residual taken only when the flag is set.</summary>
public sealed class OptionalResidualLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly FeedForward ffn;
    private readonly bool useResidual;

    public OptionalResidualLayer(long dim, bool useResidual) : base(nameof(OptionalResidualLayer))
    {
        norm = LayerNorm(dim);
        ffn = new FeedForward(dim);
        this.useResidual = useResidual;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (useResidual)
            x = x + ffn.forward(norm.forward(x));   // expect: MHC0002 conditional
        else
            x = ffn.forward(norm.forward(x));
        return x;
    }
}

/// <summary>Several residual steps written as a loop inside one module.</summary>
public sealed class IterativeRefiner : Module<Tensor, Tensor>
{
    private readonly ModuleList<Linear> steps;
    private readonly LayerNorm norm;

    public IterativeRefiner(long dim, int count) : base(nameof(IterativeRefiner))
    {
        norm = LayerNorm(dim);
        steps = new ModuleList<Linear>(Enumerable.Range(0, count).Select(_ => Linear(dim, dim)).ToArray());
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        for (int i = 0; i < steps.Count; i++)
            x = x + steps[i].forward(norm.forward(x));   // expect: MHC0002 in-loop
        return x;
    }
}

/// <summary>Padded positions are zeroed on the stream itself between the two residual connections.</summary>
public sealed class MaskedLayer : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly TokenMixer mixer;
    private readonly FeedForward ffn;

    public MaskedLayer(long dim) : base(nameof(MaskedLayer))
    {
        norm1 = LayerNorm(dim);
        mixer = new TokenMixer(dim);
        norm2 = LayerNorm(dim);
        ffn = new FeedForward(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor padding)
    {
        x = x + mixer.forward(norm1.forward(x));   // expect: MHC0002 stream-escapes
        x = x.masked_fill(padding.unsqueeze(-1), 0.0);
        x = x + ffn.forward(norm2.forward(x));   // expect: MHC0002 stream-escapes
        return x;
    }
}

/// <summary>The classic wrapper around any module: nothing in it says how wide the stream is.</summary>
public sealed class Residual : Module<Tensor, Tensor>
{
    private readonly Module<Tensor, Tensor> fn;

    public Residual(Module<Tensor, Tensor> fn) : base(nameof(Residual))
    {
        this.fn = fn;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fn.forward(x) + x;   // expect: MHC0002 width-unknown
}

/// <summary>A residual block that the model calls once, outside any stack.</summary>
public sealed class LoneRefiner : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly FeedForward ffn;

    public LoneRefiner(long dim) : base(nameof(LoneRefiner))
    {
        norm = LayerNorm(dim);
        ffn = new FeedForward(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + ffn.forward(norm.forward(x));   // expect: MHC0002 no-stack
        return x;
    }
}

public sealed class NotConvertibleModel : Module<Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly ModuleList<PostNormLayer> post_norm;
    private readonly ModuleList<Bottleneck> bottlenecks;
    private readonly ModuleList<OptionalResidualLayer> optional;
    private readonly ModuleList<IterativeRefiner> refiners;
    private readonly ModuleList<MaskedLayer> masked;
    private readonly ModuleList<Residual> wrapped;
    private readonly LoneRefiner lone;
    private readonly Linear head;

    public NotConvertibleModel(long vocab = 32, long dim = 16) : base(nameof(NotConvertibleModel))
    {
        embed = Embedding(vocab, dim);
        post_norm = new ModuleList<PostNormLayer>(new PostNormLayer(dim), new PostNormLayer(dim));
        bottlenecks = new ModuleList<Bottleneck>(new Bottleneck(dim, shortcut: true), new Bottleneck(dim, shortcut: false));
        optional = new ModuleList<OptionalResidualLayer>(new OptionalResidualLayer(dim, true), new OptionalResidualLayer(dim, false));
        refiners = new ModuleList<IterativeRefiner>(new IterativeRefiner(dim, 2), new IterativeRefiner(dim, 3));
        masked = new ModuleList<MaskedLayer>(new MaskedLayer(dim), new MaskedLayer(dim));
        wrapped = new ModuleList<Residual>(
            new Residual(Sequential(LayerNorm(dim), Linear(dim, dim), GELU())),
            new Residual(new FeedForward(dim)));
        lone = new LoneRefiner(dim);
        head = Linear(dim, vocab);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens)
    {
        using var padding = tokens.eq(0);
        var x = embed.forward(tokens);
        foreach (var layer in post_norm)
            x = layer.forward(x);
        foreach (var block in bottlenecks)
            x = block.forward(x);
        foreach (var layer in optional)
            x = layer.forward(x);
        foreach (var refiner in refiners)
            x = refiner.forward(x);
        foreach (var layer in masked)
            x = layer.forward(x, padding);
        foreach (var block in wrapped)
            x = block.forward(x);
        x = lone.forward(x);
        return head.forward(x);
    }
}

public static class Harness
{
    public static Module Create() => new NotConvertibleModel();

    public static Tensor Run(Module model)
    {
        using var tokens = tensor(new long[] { 5, 9, 13, 0, 0, 3, 1, 4, 1, 5 }).view(2, 5);
        return ((NotConvertibleModel)model).forward(tokens);
    }
}
