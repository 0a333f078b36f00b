using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// Branches with effects beside their value: an attention whose weights leave by an out argument and are kept for
// the caller (converts: the weights are declared before the connection and the argument becomes out w), the same with
// the variable declared before without a value, and blocks that change the stream in place between their residual
// connections (clamp_, add_ with alpha), which a connection cannot express.
namespace Ports.BranchSideEffects;

public sealed class Attention : Module<Tensor, Tensor>
{
    private readonly Linear q, o;

    public Attention(long d) : base(nameof(Attention))
    {
        q = Linear(d, d);
        o = Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x) => Attend(x, out _);

    public Tensor Attend(Tensor x, out Tensor weights)
    {
        weights = q.forward(x).matmul(x.transpose(-2, -1)).softmax(-1);
        return o.forward(weights.matmul(x));
    }
}

[HyperConnected]
public sealed partial class WeightsBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln;
    private readonly Attention attn;

    public WeightsBlock(long d) : base(nameof(WeightsBlock))
    {
        ln = LayerNorm(d);
        attn = new Attention(d);
        InitializeHyperConnections(channels: d);
        RegisterComponents();
    }

    public Tensor? LastWeights { get; private set; }

    public override Tensor forward(Tensor x)
    {
        Tensor? w = default!;
        x = hc_ln.forward(x, h =>
        {
            var a = attn.Attend(ln.forward(h), out w);
            return a;
        });   // expect: MHC0001
        LastWeights = w;
        return x;
    }
}

public sealed class DeclaredWeightsBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln;
    private readonly Attention attn;

    public DeclaredWeightsBlock(long d) : base(nameof(DeclaredWeightsBlock))
    {
        ln = LayerNorm(d);
        attn = new Attention(d);
        RegisterComponents();
    }

    public Tensor? LastWeights { get; private set; }

    public override Tensor forward(Tensor x)
    {
        Tensor w;
        var a = attn.Attend(ln.forward(x), out w);
        x = x + a;   // expect: MHC0002 branch-layout
        LastWeights = w;
        return x;
    }
}

public sealed class ClampedBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln1, ln2;
    private readonly Linear fc1, fc2;

    public ClampedBlock(long d) : base(nameof(ClampedBlock))
    {
        ln1 = LayerNorm(d);
        ln2 = LayerNorm(d);
        fc1 = Linear(d, d);
        fc2 = Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + fc1.forward(ln1.forward(x));   // expect: MHC0002 stream-escapes
        x.clamp_(-0.5, 0.5);
        x = x + fc2.forward(ln2.forward(x));   // expect: MHC0002 stream-escapes
        return x;
    }
}

public sealed class HalfStepBlock : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln1, ln2;
    private readonly Linear fc1, fc2;

    public HalfStepBlock(long d) : base(nameof(HalfStepBlock))
    {
        ln1 = LayerNorm(d);
        ln2 = LayerNorm(d);
        fc1 = Linear(d, d);
        fc2 = Linear(d, d);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x.add_(fc1.forward(ln1.forward(x)), alpha: 0.5);
        x = x + fc2.forward(ln2.forward(x));   // expect: MHC0002 stream-escapes
        return x;
    }
}

public sealed class Net : Module<Tensor, Tensor>
{
    private readonly ModuleList<WeightsBlock> weights;
    private readonly ModuleList<DeclaredWeightsBlock> declared;
    private readonly ModuleList<ClampedBlock> clamped;
    private readonly ModuleList<HalfStepBlock> half;

    public Net(long d = 16) : base(nameof(Net))
    {
        weights = new ModuleList<WeightsBlock>(new WeightsBlock(d), new WeightsBlock(d));
        declared = new ModuleList<DeclaredWeightsBlock>(new DeclaredWeightsBlock(d), new DeclaredWeightsBlock(d));
        clamped = new ModuleList<ClampedBlock>(new ClampedBlock(d), new ClampedBlock(d));
        half = new ModuleList<HalfStepBlock>(new HalfStepBlock(d), new HalfStepBlock(d));
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor x)
    {
        x = HyperStreams.Expand(x, WeightsBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, weights, (block, streams) => block.forward(streams));
        x = HyperStreams.Reduce(x);
        foreach (var block in declared)
            x = block.forward(x);
        foreach (var block in clamped)
            x = block.forward(x);
        foreach (var block in half)
            x = block.forward(x);
        return x + weights.Select(b => b.LastWeights!.sum()).Aggregate((a, b) => a + b);
    }
}

public static class Harness
{
    public static Module Create() => new Net();

    public static Tensor Run(Module model)
    {
        using var x = linspace(-1, 1, 2 * 5 * 16).view(2, 5, 16);
        return ((Net)model).forward(x);
    }
}
