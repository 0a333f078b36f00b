using System;
using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.OptionalSublayers;

/// <summary>A two-layer MLP of the model's width.</summary>
public sealed class FeedForward : Module<Tensor, Tensor>
{
    private readonly Linear up, down;

    public FeedForward(long dim) : base(nameof(FeedForward))
    {
        up = Linear(dim, 2 * dim);
        down = Linear(2 * dim, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => down.forward(functional.gelu(up.forward(x)));
}

/// <summary>The last sub-layer is optional: the block may end on a skipped residual.</summary>
[HyperConnected]
public sealed partial class TrailingOptionalBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly FeedForward first;
    private readonly FeedForward? second;

    public TrailingOptionalBlock(long dim, bool withSecond) : base(nameof(TrailingOptionalBlock))
    {
        norm1 = LayerNorm(dim);
        norm2 = LayerNorm(dim);
        first = new FeedForward(dim);
        if (withSecond)
            second = new FeedForward(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_first.forward(x, h => first.forward(norm1.forward(h)));   // expect: MHC0001
        if (second != null)
        {
            x = hc_second.forward(x, h => second.forward(norm2.forward(h)));   // expect: MHC0001
        }
        return x;
    }
}

/// <summary>Two residual sub-layers under one flag, and a leading one that is always there.</summary>
[HyperConnected]
public sealed partial class AdapterBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm, adapterNorm1, adapterNorm2;
    private readonly FeedForward ffn, adapter1, adapter2;
    private readonly bool useAdapters;

    public AdapterBlock(long dim, bool useAdapters) : base(nameof(AdapterBlock))
    {
        norm = LayerNorm(dim);
        adapterNorm1 = LayerNorm(dim);
        adapterNorm2 = LayerNorm(dim);
        ffn = new FeedForward(dim);
        adapter1 = new FeedForward(dim);
        adapter2 = new FeedForward(dim);
        this.useAdapters = useAdapters;
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (useAdapters)
        {
            x = hc_adapter1.forward(x, h => adapter1.forward(adapterNorm1.forward(h)));   // expect: MHC0001
            x = hc_adapter2.forward(x, h => adapter2.forward(adapterNorm2.forward(h)));   // expect: MHC0001
        }
        x = hc_ffn.forward(x, h => ffn.forward(norm.forward(h)));   // expect: MHC0001
        return x;
    }
}

/// <summary>Self-attention, then cross-attention only when a context width is given, as latent-diffusion transformer blocks.</summary>
[HyperConnected]
public sealed partial class LatentTransformerBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2, norm3;
    private readonly Linear attn1;
    private readonly Linear? attn2_q, attn2_kv;
    private readonly FeedForward ff;

    public LatentTransformerBlock(long dim, long? contextDim) : base(nameof(LatentTransformerBlock))
    {
        norm1 = LayerNorm(dim);
        norm2 = LayerNorm(dim);
        norm3 = LayerNorm(dim);
        attn1 = Linear(dim, dim);
        if (contextDim is { } context)
        {
            attn2_q = Linear(dim, dim);
            attn2_kv = Linear(context, dim);
        }
        ff = new FeedForward(dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor hidden_states, Tensor encoder_hidden_states)
    {
        Tensor? norm_hidden_states = default!;
        Tensor? attn_output = default!;
        hidden_states = hc_attn1.forward(hidden_states, h =>
        {
            norm_hidden_states = norm1.forward(h);
            attn_output = attn1.forward(norm_hidden_states);
            return attn_output;
        });   // expect: MHC0001

        if (attn2_q is not null && attn2_kv is not null)
        {
            hidden_states = hc_attn2_q.forward(hidden_states, h =>
            {
                norm_hidden_states = norm2.forward(h);
                var q = attn2_q.forward(norm_hidden_states);
                var kv = attn2_kv.forward(encoder_hidden_states);
                var weights = functional.softmax(q.matmul(kv.transpose(1, 2)), -1);
                attn_output = weights.matmul(kv);
                return attn_output;
            });   // expect: MHC0001
        }

        hidden_states = hc_ff.forward(hidden_states, h =>
        {
            norm_hidden_states = norm3.forward(h);
            var ff_output = ff.forward(norm_hidden_states);
            return ff_output;
        });   // expect: MHC0001
        return hidden_states;
    }
}

/// <summary>The flag guards more than the residual: the residual is not all the if does.</summary>
public sealed class GuardedWithMore : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly FeedForward ffn;
    private readonly bool scaleAfter;

    public GuardedWithMore(long dim, bool scaleAfter) : base(nameof(GuardedWithMore))
    {
        norm = LayerNorm(dim);
        ffn = new FeedForward(dim);
        this.scaleAfter = scaleAfter;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        if (scaleAfter)
        {
            x = x + ffn.forward(norm.forward(x));   // expect: MHC0002 conditional
            x = x * 0.5;
        }
        return x;
    }
}

public sealed class Model : Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<TrailingOptionalBlock> trailing;
    private readonly ModuleList<AdapterBlock> adapters;
    private readonly ModuleList<GuardedWithMore> guarded;
    private readonly ModuleList<LatentTransformerBlock> latent;
    private readonly Linear head;

    public Model(long dim) : base(nameof(Model))
    {
        trailing = new ModuleList<TrailingOptionalBlock>(new TrailingOptionalBlock(dim, true), new TrailingOptionalBlock(dim, false));
        adapters = new ModuleList<AdapterBlock>(new AdapterBlock(dim, true), new AdapterBlock(dim, false));
        guarded = new ModuleList<GuardedWithMore>(new GuardedWithMore(dim, true), new GuardedWithMore(dim, false));
        latent = new ModuleList<LatentTransformerBlock>(new LatentTransformerBlock(dim, 8), new LatentTransformerBlock(dim, null));
        head = Linear(dim, 4);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor x, Tensor context)
    {
        x = HyperStreams.Expand(x, LatentTransformerBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, latent, (block, streams) => block.forward(streams, context));
        x = HyperStreams.Run(x, trailing, (block, streams) => block.forward(streams));
        x = HyperStreams.Run(x, adapters, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        foreach (var block in guarded)
            x = block.forward(x);
        return head.forward(x);
    }
}

public static class Harness
{
    public static Module Create() => new Model(16);

    public static Tensor Run(Module model)
    {
        using var x = arange(0, 2 * 5 * 16, dtype: ScalarType.Float32).view(2, 5, 16).div(40).sin();
        using var context = arange(0, 2 * 3 * 8, dtype: ScalarType.Float32).view(2, 3, 8).div(10).cos();
        return ((Model)model).forward(x, context).flatten();
    }
}
