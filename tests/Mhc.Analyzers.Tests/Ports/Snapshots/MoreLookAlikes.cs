using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// More sums that look like residual connections but are not, in stacked blocks and in the model around
// them: nothing in this file may be reported, and converting it must change nothing.
namespace Ports.MoreLookAlikes;

/// <summary>Fixed sinusoidal positions held in a buffer, added to the input.</summary>
public sealed class PositionalEncoding : Module<Tensor, Tensor>
{
    private readonly Tensor pe;
    private readonly Dropout dropout;

    public PositionalEncoding(long d_model, long max_len = 32) : base(nameof(PositionalEncoding))
    {
        var position = arange(max_len, dtype: ScalarType.Float32).unsqueeze(1);
        var div_term = exp(arange(0, d_model, 2, dtype: ScalarType.Float32) * (-Math.Log(10000.0) / d_model));
        var table = zeros(max_len, d_model);
        table[TensorIndex.Colon, TensorIndex.Slice(0, null, 2)] = sin(position * div_term);
        table[TensorIndex.Colon, TensorIndex.Slice(1, null, 2)] = cos(position * div_term);
        pe = table.unsqueeze(0);
        register_buffer("pe", pe);
        dropout = Dropout(0.1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + pe.narrow(1, 0, x.shape[1]);   // not residual: a buffer, no module applied to x
        return dropout.forward(x);
    }
}

/// <summary>Injects a conditioning sequence: normalized and projected, but computed from the condition, not the stream.</summary>
public sealed class ConditionInjection : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm cond_norm;
    private readonly Linear cond_proj, q_proj;
    private readonly Parameter q_bias;

    public ConditionInjection(long dim, long condDim) : base(nameof(ConditionInjection))
    {
        cond_norm = LayerNorm(condDim);
        cond_proj = Linear(condDim, dim);
        q_proj = Linear(dim, dim, hasBias: false);
        q_bias = Parameter(zeros(dim) + 0.01);   // not residual: a constant bias initialization
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor cond)
    {
        x = x + cond_proj.forward(cond_norm.forward(cond)).unsqueeze(1);   // not residual: a branch of another tensor
        var q = q_proj.forward(x);
        q = q + q_bias;   // not residual: a bias
        return q;
    }
}

/// <summary>Feature-pyramid top-down merge: a lateral projection of one level plus the upsampled coarser level.</summary>
public sealed class TopDownMerge : Module<Tensor, Tensor, Tensor>
{
    private readonly Linear lateral, smooth;

    public TopDownMerge(long inDim, long dim) : base(nameof(TopDownMerge))
    {
        lateral = Linear(inDim, dim);
        smooth = Linear(dim, dim);
        RegisterComponents();
    }

    /// <param name="features">[B, 2T, inDim] the finer level.</param>
    /// <param name="coarse">[B, T, dim] the merged coarser level.</param>
    public override Tensor forward(Tensor features, Tensor coarse)
    {
        var upsampled = coarse.repeat_interleave(2, dim: 1);
        var merged = lateral.forward(features) + upsampled;   // not residual: two different levels
        return smooth.forward(merged);
    }
}

/// <summary>A gated unit whose output feeds a skip sum accumulated by the model.</summary>
public sealed class GatedUnit : Module<Tensor, (Tensor Hidden, Tensor Skip)>
{
    private readonly Linear filter, gate, skip_proj, out_proj;

    public GatedUnit(long dim) : base(nameof(GatedUnit))
    {
        filter = Linear(dim, dim);
        gate = Linear(dim, dim);
        skip_proj = Linear(dim, dim);
        out_proj = Linear(dim, dim);
        RegisterComponents();
    }

    public override (Tensor Hidden, Tensor Skip) forward(Tensor x)
    {
        var z = tanh(filter.forward(x)) * functional.sigmoid(gate.forward(x));
        return (out_proj.forward(z), skip_proj.forward(z));
    }
}

public sealed class LookAlikeModel : Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Embedding embed;
    private readonly PositionalEncoding positions;
    private readonly ModuleList<ConditionInjection> injections;
    private readonly ModuleList<GatedUnit> units;
    private readonly TopDownMerge merge;
    private readonly Linear head;
    private readonly double noise_std = 0.1;

    public LookAlikeModel(long vocab = 32, long dim = 16, long condDim = 6) : base(nameof(LookAlikeModel))
    {
        embed = Embedding(vocab, dim);
        positions = new PositionalEncoding(dim);
        injections = new ModuleList<ConditionInjection>(Enumerable.Range(0, 2).Select(_ => new ConditionInjection(dim, condDim)).ToArray());
        units = new ModuleList<GatedUnit>(new GatedUnit(dim), new GatedUnit(dim));
        merge = new TopDownMerge(5, dim);
        head = Linear(dim, vocab);
        RegisterComponents();
    }

    public override Tensor forward(Tensor tokens, Tensor cond, Tensor fine)
    {
        var x = positions.forward(embed.forward(tokens));
        if (training)
            x = x + noise_std * randn_like(x);   // not residual: noise, no module
        x = x + x.mean(new long[] { 1 }, keepdim: true);   // not residual: no module applied
        foreach (var injection in injections)
            x = injection.forward(x, cond);

        var skip = zeros_like(x);
        foreach (var unit in units)
        {
            var (hidden, s) = unit.forward(x);
            x = hidden;
            skip = skip + s;   // not residual: skip outputs summed over the units
        }

        var merged = merge.forward(fine, functional.relu(skip));
        return head.forward(merged);
    }
}

public static class Harness
{
    public static Module Create() => new LookAlikeModel();

    public static Tensor Run(Module model)
    {
        manual_seed(29);
        using var tokens = randint(0, 32, new long[] { 2, 4 }, dtype: ScalarType.Int64);
        using var cond = randn(2, 6);
        using var fine = randn(2, 8, 5);
        return ((LookAlikeModel)model).forward(tokens, cond, fine);
    }
}
