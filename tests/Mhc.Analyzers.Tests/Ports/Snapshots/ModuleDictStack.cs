using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.ModuleDictStack;

public sealed class MlpBlock : Module<Tensor, Tensor>
{
    private readonly Linear fc1, fc2;

    public MlpBlock(long dim, long hidden) : base(nameof(MlpBlock))
    {
        fc1 = Linear(dim, hidden);
        fc2 = Linear(hidden, dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => fc2.forward(functional.gelu(fc1.forward(x)));
}

/// <summary>Token mixing across the sequence axis, then channel mixing, each behind a residual.</summary>
[HyperConnected]
public sealed partial class MixerBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly MlpBlock token_mixing, channel_mixing;

    public MixerBlock(long tokens, long dim) : base(nameof(MixerBlock))
    {
        norm1 = LayerNorm(dim);
        token_mixing = new MlpBlock(tokens, 2 * tokens);
        norm2 = LayerNorm(dim);
        channel_mixing = new MlpBlock(dim, 4 * dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_token_mixing.forward(x, h => token_mixing.forward(norm1.forward(h).transpose(1, 2)).transpose(1, 2));   // expect: MHC0001
        x = hc_channel_mixing.forward(x, h => channel_mixing.forward(norm2.forward(h)));   // expect: MHC0001
        return x;
    }
}

public sealed class MlpMixer : Module<Tensor, Tensor>
{
    private readonly Linear stem;
    private readonly ModuleDict<MixerBlock> layers;
    private readonly LayerNorm pre_head_norm;
    private readonly Linear head;

    public MlpMixer(long tokens = 6, long inDim = 12, long dim = 16, int depth = 2, long classes = 5) : base(nameof(MlpMixer))
    {
        stem = Linear(inDim, dim);
        layers = new ModuleDict<MixerBlock>();
        foreach (var i in Enumerable.Range(0, depth))
            layers.Add($"block{i}", new MixerBlock(tokens, dim));
        pre_head_norm = LayerNorm(dim);
        head = Linear(dim, classes);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor patches)
    {
        var x = stem.forward(patches);
        x = HyperStreams.Expand(x, MixerBlock.HyperConnectionStreams);
        foreach (var (name, layer) in layers)
            x = layer.forward(x);
        x = HyperStreams.Reduce(x);
        x = pre_head_norm.forward(x);
        return head.forward(x.mean(new long[] { 1 }));
    }
}

public static class Harness
{
    public static Module Create() => new MlpMixer();

    public static Tensor Run(Module model)
    {
        manual_seed(5);
        using var patches = randn(3, 6, 12);
        return ((MlpMixer)model).forward(patches);
    }
}
