using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// A vision-language decoder in the Flamingo manner: a gated cross-attention block over image features runs before
// each language-model layer, the two kinds interleaved in one loop over two lists. The gate starts at zero, so the
// cross-attention adds nothing at first; tanh keeps it bounded.
namespace Ports.InterleavedLayers;

[HyperConnected]
public sealed partial class GatedCrossAttention : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear to_q, to_kv, to_out;
    private readonly Parameter attn_gate;

    public GatedCrossAttention(int dim, int media_dim) : base(nameof(GatedCrossAttention))
    {
        norm = LayerNorm(dim);
        to_q = Linear(dim, dim, hasBias: false);
        to_kv = Linear(media_dim, dim, hasBias: false);
        to_out = Linear(dim, dim, hasBias: false);
        attn_gate = Parameter(tensor(0.25f));
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor media)
    {
        x = hc_to_out.forward(x, h =>
        {
            var q = to_q.forward(norm.forward(h));
            var kv = to_kv.forward(media);
            var attn = functional.softmax(q.matmul(kv.transpose(-1, -2)), -1).matmul(kv);
            return to_out.forward(attn) * attn_gate.tanh();
        });   // expect: MHC0001
        return x;
    }
}

[HyperConnected]
public sealed partial class LanguageLayer : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln;
    private readonly Linear up, down;

    public LanguageLayer(int dim) : base(nameof(LanguageLayer))
    {
        ln = LayerNorm(dim);
        up = Linear(dim, 4 * dim);
        down = Linear(4 * dim, dim);
        InitializeHyperConnections(channels: dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_down.forward(x, h => down.forward(functional.gelu(up.forward(ln.forward(h)))));   // expect: MHC0001
        return x;
    }
}

public sealed class Decoder : Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<LanguageLayer> layers;
    private readonly ModuleList<GatedCrossAttention> gated_cross_attn_layers;
    private readonly LayerNorm norm;

    public Decoder(int dim = 16, int media_dim = 12, int depth = 2) : base(nameof(Decoder))
    {
        layers = new ModuleList<LanguageLayer>(Enumerable.Range(0, depth).Select(_ => new LanguageLayer(dim)).ToArray());
        gated_cross_attn_layers = new ModuleList<GatedCrossAttention>(Enumerable.Range(0, depth).Select(_ => new GatedCrossAttention(dim, media_dim)).ToArray());
        norm = LayerNorm(dim);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor x, Tensor media)
    {
        x = HyperStreams.Expand(x, GatedCrossAttention.HyperConnectionStreams);
        for (int i = 0; i < layers.Count; i++)
        {
            x = gated_cross_attn_layers[i].forward(x, media);
            x = layers[i].forward(x);
        }
        x = HyperStreams.Reduce(x);

        return norm.forward(x);
    }
}

public static class Harness
{
    public static Module Create() => new Decoder();

    public static Tensor Run(Module model)
    {
        using var x = linspace(-1, 1, 2 * 5 * 16).view(2, 5, 16);
        using var media = linspace(1, -1, 2 * 3 * 12).view(2, 3, 12);
        return ((Decoder)model).forward(x, media);
    }
}
