using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.BranchFirst;

public sealed class Mixer : Module<Tensor, Tensor>
{
    private readonly Linear to_values, to_out;

    public Mixer(long dim) : base(nameof(Mixer))
    {
        to_values = Linear(dim, dim);
        to_out = Linear(dim, dim);
        RegisterComponents();
    }

    /// <summary>Causal mean over the preceding tokens (a cheap attention stand-in).</summary>
    public override Tensor forward(Tensor x)
    {
        var t = x.shape[1];
        using var weights = ones(t, t).tril();
        var mean = weights.div(weights.sum(-1L, keepdim: true));
        return to_out.forward(mean.matmul(to_values.forward(x)));
    }
}

/// <summary>The branch written before the identity: in one expression, and computed into locals first.</summary>
[HyperConnected]
public sealed partial class BranchFirstBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm0, norm1, norm2;
    private readonly Mixer mixer, attn;
    private readonly Sequential mlp;
    private readonly Dropout drop;

    public BranchFirstBlock(long dim, double dropout) : base(nameof(BranchFirstBlock))
    {
        norm0 = LayerNorm(dim);
        mixer = new Mixer(dim);
        drop = Dropout(dropout);
        norm1 = LayerNorm(dim);
        attn = new Mixer(dim);
        norm2 = LayerNorm(dim);
        mlp = Sequential(("fc1", Linear(dim, 4 * dim)), ("act", GELU()), ("fc2", Linear(4 * dim, dim)));
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_mixer.forward(x, s => drop.forward(mixer.forward(norm0.forward(s))));   // expect: MHC0001

        var h = hc_attn.forward(x, s =>
        {
            var a = norm1.forward(s);
            a = attn.forward(a);
            return a;
        });   // expect: MHC0001
        return hc_mlp.forward(h, s =>
        {
            var f = norm2.forward(s);
            f = mlp.forward(f);
            return f;
        });   // expect: MHC0001
    }
}

public sealed class BranchFirstModel : Module<Tensor, Tensor>
{
    private readonly Linear embed;
    private readonly ModuleList<BranchFirstBlock> layers;
    private readonly LayerNorm norm;
    private readonly Linear head;

    public BranchFirstModel(long inDim = 6, long dim = 16, int depth = 2) : base(nameof(BranchFirstModel))
    {
        embed = Linear(inDim, dim);
        layers = new ModuleList<BranchFirstBlock>(Enumerable.Range(0, depth).Select(_ => new BranchFirstBlock(dim, 0.1)).ToArray());
        norm = LayerNorm(dim);
        head = Linear(dim, 1);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor features)
    {
        var x = embed.forward(features);
        x = HyperStreams.Expand(x, BranchFirstBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, layers, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        return head.forward(norm.forward(x)).squeeze(-1);
    }
}

public static class Harness
{
    public static Module Create() => new BranchFirstModel();

    public static Tensor Run(Module model)
    {
        manual_seed(3);
        using var features = randn(2, 5, 6);
        return ((BranchFirstModel)model).forward(features);
    }
}
