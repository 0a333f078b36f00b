using System.Collections.Generic;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Layers that return their attention map beside the hidden states, run by loops that take the pair apart into
// temporaries and copy the states on: `var (h, attn) = layer.forward(x); x = h;`, keeping the maps for the caller,
// and `(var y, var _) = ...; x = y;` in the second stack.
namespace Ports.LoopTemporaries;

[HyperConnected]
public sealed partial class AttentionLayer : Module<Tensor, (Tensor, Tensor)>
{
    private readonly LayerNorm ln;
    private readonly Linear qkv, proj;

    public AttentionLayer(int dim) : base(nameof(AttentionLayer))
    {
        ln = LayerNorm(dim);
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x)
    {
        Tensor? map = default!;
        x = hc_proj.forward(x, h =>
        {
            var parts = qkv.forward(ln.forward(h)).chunk(3, -1);
            map = functional.softmax(parts[0].matmul(parts[1].transpose(-1, -2)), -1);
            return proj.forward(map.matmul(parts[2]));
        });   // expect: MHC0001
        return (x, map);
    }
}

[HyperConnected]
public sealed partial class MixerLayer : Module<Tensor, (Tensor, Tensor)>
{
    private readonly LayerNorm ln;
    private readonly Linear fc;

    public MixerLayer(int dim) : base(nameof(MixerLayer))
    {
        ln = LayerNorm(dim);
        fc = Linear(dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x)
    {
        Tensor? update = default!;
        return (hc_fc.forward(x, h =>
        {
            update = functional.silu(fc.forward(ln.forward(h)));
            return update;
        }), update);   // expect: MHC0001
    }
}

public sealed class Encoder : Module<Tensor, Tensor>
{
    private readonly ModuleList<AttentionLayer> layers;
    private readonly ModuleList<MixerLayer> mixers;
    private readonly LayerNorm ln_post;

    public Encoder(int dim = 16, int depth = 2) : base(nameof(Encoder))
    {
        layers = new ModuleList<AttentionLayer>(Enumerable.Range(0, depth).Select(_ => new AttentionLayer(dim)).ToArray());
        mixers = new ModuleList<MixerLayer>(Enumerable.Range(0, depth).Select(_ => new MixerLayer(dim)).ToArray());
        ln_post = LayerNorm(dim);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public List<Tensor> Maps { get; } = new();

    public override Tensor forward(Tensor x)
    {
        Maps.Clear();
        x = HyperStreams.Expand(x, AttentionLayer.HyperConnectionStreams);
        foreach (var layer in layers)
        {
            var (h, attn) = layer.forward(x);
            Maps.Add(attn);
            x = h;
        }

        for (int i = 0; i < mixers.Count; i++)
        {
            (var y, var _) = mixers[i].forward(x);
            x = y;
        }
        x = HyperStreams.Reduce(x);

        return ln_post.forward(x);
    }
}

public static class Harness
{
    public static Module Create() => new Encoder();

    public static Tensor Run(Module model)
    {
        using var x = linspace(-1, 1, 2 * 5 * 16).view(2, 5, 16);
        return ((Encoder)model).forward(x);
    }
}
