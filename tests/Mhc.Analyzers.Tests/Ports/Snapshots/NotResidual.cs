using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using System;
using System.Linq;

// Sums that look like residual connections but are not: nothing in this file may be reported.
namespace Ports.NotResidual;

/// <summary>Sinusoidal timestep features, then a small MLP, as diffusion models embed time.</summary>
public sealed class TimestepEmbedding : Module<Tensor, Tensor>
{
    private readonly Linear linear_1, linear_2;
    private readonly long channels;

    public TimestepEmbedding(long channels, long dim) : base(nameof(TimestepEmbedding))
    {
        this.channels = channels;
        linear_1 = Linear(channels, dim);
        linear_2 = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor timesteps)
    {
        var half = channels / 2;
        var freqs = exp(-Math.Log(10000.0) * arange(0, half, dtype: ScalarType.Float32) / half);
        var args = timesteps.to_type(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);
        var features = cat(new[] { args.cos(), args.sin() }, -1);
        return linear_2.forward(functional.silu(linear_1.forward(features)));
    }
}

/// <summary>Token, position and time embeddings summed.</summary>
public sealed class Embeddings : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding tok, pos;
    private readonly Linear time_proj;

    public Embeddings(long vocab, long context, long dim) : base(nameof(Embeddings))
    {
        tok = Embedding(vocab, dim);
        pos = Embedding(context, dim);
        time_proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens, Tensor temb)
    {
        using var positions = arange(tokens.shape[1], dtype: ScalarType.Int64);
        var h = tok.forward(tokens) + pos.forward(positions);   // not residual: token and position embeddings
        h = h + time_proj.forward(temb).unsqueeze(1);   // not residual: time embedding, a function of t only
        return h;
    }
}

/// <summary>Attention with rotary terms, a relative position bias from an Embedding and an additive mask.</summary>
public sealed class BiasedAttention : Module<Tensor, Tensor>
{
    private readonly Linear to_q, to_k, to_v, to_out;
    private readonly Embedding relative_attention_bias;
    private readonly long heads, headDim, maxDistance;

    public BiasedAttention(long dim, long heads, long maxDistance = 8) : base(nameof(BiasedAttention))
    {
        this.heads = heads;
        headDim = dim / heads;
        this.maxDistance = maxDistance;
        to_q = Linear(dim, dim, hasBias: false);
        to_k = Linear(dim, dim, hasBias: false);
        to_v = Linear(dim, dim, hasBias: false);
        to_out = Linear(dim, dim);
        relative_attention_bias = Embedding(2 * maxDistance + 1, heads);
        RegisterComponents();
    }

    private static Tensor RotateHalf(Tensor x)
    {
        var half = x.shape[^1] / 2;
        return cat(new[] { -x.narrow(-1, half, half), x.narrow(-1, 0, half) }, -1);
    }

    public override Tensor forward(Tensor x)
    {
        var (b, t) = (x.shape[0], x.shape[1]);
        var q = to_q.forward(x).view(b, t, heads, headDim).transpose(1, 2);
        var k = to_k.forward(x).view(b, t, heads, headDim).transpose(1, 2);
        var v = to_v.forward(x).view(b, t, heads, headDim).transpose(1, 2);

        var inv = 1.0 / pow(10000.0, arange(0, headDim, 2, dtype: ScalarType.Float32) / headDim);
        var angles = arange(t, dtype: ScalarType.Float32).unsqueeze(1) * inv.unsqueeze(0);
        var cos = cat(new[] { angles.cos(), angles.cos() }, -1);
        var sin = cat(new[] { angles.sin(), angles.sin() }, -1);
        q = q * cos + RotateHalf(q) * sin;   // not residual: rotary position terms
        k = (k * cos) + (RotateHalf(k) * sin);   // not residual: rotary position terms

        using var context = arange(t, dtype: ScalarType.Int64);
        var relative = (context.unsqueeze(0) - context.unsqueeze(1)).clamp(-maxDistance, maxDistance) + maxDistance;
        var positionBias = relative_attention_bias.forward(relative).permute(2, 0, 1).unsqueeze(0);
        var mask = full(t, t, float.NegativeInfinity).triu(1);

        var scores = q.matmul(k.transpose(-2, -1)) / Math.Sqrt(headDim);
        scores = scores + positionBias;   // not residual: relative position bias, computed from positions only
        scores = scores + mask;   // not residual: causal mask
        var y = functional.softmax(scores, -1).matmul(v);
        return to_out.forward(y.transpose(1, 2).reshape(b, t, heads * headDim));
    }
}

public sealed class GeluMlp : Module<Tensor, Tensor>
{
    private readonly Linear fc, proj;

    public GeluMlp(long dim) : base(nameof(GeluMlp))
    {
        fc = Linear(dim, 4 * dim);
        proj = Linear(4 * dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = fc.forward(x);
        var inner = x + 0.044715 * x.pow(3);   // not residual: GELU tanh approximation
        x = 0.5 * x * (1.0 + tanh(Math.Sqrt(2.0 / Math.PI) * inner));
        return proj.forward(x);
    }
}

/// <summary>Attention and MLP of the same normalized input, summed, with no identity path.</summary>
public sealed class ParallelBranches : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly BiasedAttention attn;
    private readonly GeluMlp mlp;

    public ParallelBranches(long dim, long heads) : base(nameof(ParallelBranches))
    {
        norm = LayerNorm(dim);
        attn = new BiasedAttention(dim, heads);
        mlp = new GeluMlp(dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        var n = norm.forward(x);
        return attn.forward(n) + mlp.forward(n);   // not residual: two branches, no identity path
    }
}

/// <summary>A frozen Linear plus its low-rank update.</summary>
public sealed class LoraLinear : Module<Tensor, Tensor>
{
    private readonly Linear base_layer, lora_A, lora_B;
    private readonly Dropout lora_dropout;
    private readonly double scaling;

    public LoraLinear(long inFeatures, long outFeatures, long rank = 2, double alpha = 4) : base(nameof(LoraLinear))
    {
        base_layer = Linear(inFeatures, outFeatures);
        lora_A = Linear(inFeatures, rank, hasBias: false);
        lora_B = Linear(rank, outFeatures, hasBias: false);
        lora_dropout = Dropout(0.05);
        scaling = alpha / rank;
        RegisterComponents();
        base_layer.weight!.requires_grad = false;
    }

    public override Tensor forward(Tensor x)
    {
        var baseOut = base_layer.forward(x);
        var loraOut = lora_B.forward(lora_A.forward(lora_dropout.forward(x))) * scaling;
        return baseOut + loraOut;   // not residual: base output plus low-rank update
    }
}

/// <summary>A skip by concatenation, fused back to the width by a Linear.</summary>
public sealed class ConcatSkip : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear transform, fuse;

    public ConcatSkip(long dim) : base(nameof(ConcatSkip))
    {
        norm = LayerNorm(dim);
        transform = Linear(dim, dim);
        fuse = Linear(2 * dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fuse.forward(cat(new[] { x, functional.gelu(transform.forward(norm.forward(x))) }, -1));
}

/// <summary>Adaptive LayerNorm modulation: shift and scale come from the conditioning vector.</summary>
public sealed class Modulation : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear ada;

    public Modulation(long dim) : base(nameof(Modulation))
    {
        norm = LayerNorm(dim, elementwise_affine: false);
        ada = Linear(dim, 2 * dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cond)
    {
        var chunks = ada.forward(functional.silu(cond)).unsqueeze(1).chunk(2, -1);
        var (shift, scale) = (chunks[0], chunks[1]);
        return norm.forward(x) * (1 + scale) + shift;   // not residual: shift from the condition
    }
}

/// <summary>A UNet-style conv block without its skip: the time embedding is added to the feature map.</summary>
public sealed class ConvTimeBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly GroupNorm norm1, norm2;
    private readonly Conv2d conv1, conv2;
    private readonly Linear temb_proj;

    public ConvTimeBlock(long inChannels, long outChannels, long tembChannels) : base(nameof(ConvTimeBlock))
    {
        norm1 = GroupNorm(4, inChannels);
        conv1 = Conv2d(inChannels, outChannels, 3, padding: 1);
        temb_proj = Linear(tembChannels, outChannels);
        norm2 = GroupNorm(4, outChannels);
        conv2 = Conv2d(outChannels, outChannels, 3, padding: 1);
        RegisterComponents();

        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialized.
        foreach (var norm in new[] { norm1, norm2 })
        {
            init.ones_(norm.weight!);
            init.zeros_(norm.bias!);
        }
    }

    public override Tensor forward(Tensor x, Tensor temb)
    {
        var h = conv1.forward(functional.silu(norm1.forward(x)));
        h = h + temb_proj.forward(functional.silu(temb)).unsqueeze(-1).unsqueeze(-1);   // not residual: time embedding
        h = conv2.forward(functional.silu(norm2.forward(h)));
        return h;
    }
}

public sealed class NotResidualModel : Module<Tensor, Tensor, Tensor>
{
    private readonly TimestepEmbedding time_embedding;
    private readonly Embeddings embeddings;
    private readonly ModuleList<ParallelBranches> blocks;
    private readonly LoraLinear lora;
    private readonly ConcatSkip concat_skip;
    private readonly Modulation modulation;
    private readonly ModuleList<ConvTimeBlock> down;
    private readonly Linear head;

    public NotResidualModel(long vocab = 32, long context = 4, long dim = 16) : base(nameof(NotResidualModel))
    {
        time_embedding = new TimestepEmbedding(8, dim);
        embeddings = new Embeddings(vocab, context, dim);
        blocks = new ModuleList<ParallelBranches>(Enumerable.Range(0, 2).Select(_ => new ParallelBranches(dim, 2)).ToArray());
        lora = new LoraLinear(dim, dim);
        concat_skip = new ConcatSkip(dim);
        modulation = new Modulation(dim);
        down = new ModuleList<ConvTimeBlock>(new ConvTimeBlock(dim, 2 * dim, dim), new ConvTimeBlock(2 * dim, 2 * dim, dim));
        head = Linear(2 * dim, 4);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens, Tensor timesteps)
    {
        var temb = time_embedding.forward(timesteps);
        var x = embeddings.forward(tokens, temb);
        foreach (var block in blocks)
            x = block.forward(x);
        x = lora.forward(x);
        x = concat_skip.forward(x);
        x = modulation.forward(x, temb);

        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var side = (long)Math.Sqrt(t);
        var image = x.transpose(1, 2).reshape(b, c, side, side);
        foreach (var block in down)
            image = block.forward(image, temb);
        return head.forward(image.mean(new long[] { 2, 3 }));
    }
}

public static class Harness
{
    public static Module Create() => new NotResidualModel();

    public static Tensor Run(Module model)
    {
        using var tokens = tensor(new long[] { 4, 8, 15, 16, 23, 31, 2, 7 }).view(2, 4);
        using var timesteps = tensor(new long[] { 10, 500 });
        return ((NotResidualModel)model).forward(tokens, timesteps);
    }
}
