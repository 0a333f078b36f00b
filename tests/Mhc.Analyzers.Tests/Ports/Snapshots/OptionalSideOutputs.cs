using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// A speech decoder's block whose optional cross-attention also keeps its attention weights for the caller (an
// alignment head reads them), and an encoder layer that picks pre-norm or post-norm by a flag, as
// nn.TransformerEncoderLayer's norm_first does.
namespace Ports.OptionalSideOutputs;

public sealed class CrossAttention : Module<Tensor, Tensor, (Tensor, Tensor)>
{
    private readonly Linear query, key, value, out_proj;

    public CrossAttention(int n_state) : base(nameof(CrossAttention))
    {
        query = Linear(n_state, n_state);
        key = Linear(n_state, n_state, hasBias: false);
        value = Linear(n_state, n_state);
        out_proj = Linear(n_state, n_state);
        RegisterComponents();
    }

    public override (Tensor, Tensor) forward(Tensor x, Tensor xa)
    {
        var weights = functional.softmax(query.forward(x).matmul(key.forward(xa).transpose(-1, -2)), -1);
        return (out_proj.forward(weights.matmul(value.forward(xa))), weights);
    }
}

[HyperConnected]
public sealed partial class DecoderBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm mlp_ln;
    private readonly LayerNorm? cross_attn_ln;
    private readonly CrossAttention? cross_attn;
    private readonly Linear mlp_in, mlp_out;

    public DecoderBlock(int n_state, bool cross_attention) : base(nameof(DecoderBlock))
    {
        if (cross_attention)
        {
            cross_attn_ln = LayerNorm(n_state);
            cross_attn = new CrossAttention(n_state);
        }

        mlp_ln = LayerNorm(n_state);
        mlp_in = Linear(n_state, 2 * n_state);
        mlp_out = Linear(2 * n_state, n_state);
        InitializeHyperConnections(channels: n_state);
        RegisterComponents();
    }

    public Tensor? CrossWeights { get; private set; }

    public override Tensor forward(Tensor x, Tensor xa)
    {
        if (cross_attn is not null && cross_attn_ln is not null)
        {
            (Tensor, Tensor) attended = default;
            x = hc_cross_attn.forward(x, h =>
            {
                attended = cross_attn.forward(cross_attn_ln.forward(h), xa);
                return attended.Item1;
            });   // expect: MHC0001
            CrossWeights = attended.Item2;
        }

        x = hc_mlp_out.forward(x, h => mlp_out.forward(functional.gelu(mlp_in.forward(mlp_ln.forward(h)))));   // expect: MHC0001
        return x;
    }
}

public sealed class EncoderLayer : Module<Tensor, Tensor>
{
    private readonly bool norm_first;
    private readonly LayerNorm norm1;
    private readonly Linear self_attn;

    public EncoderLayer(int d_model, bool norm_first) : base(nameof(EncoderLayer))
    {
        this.norm_first = norm_first;
        norm1 = LayerNorm(d_model);
        self_attn = Linear(d_model, d_model);
        RegisterComponents();
    }

    public override Tensor forward(Tensor src)
    {
        var x = src;
        if (norm_first)
            x = x + self_attn.forward(norm1.forward(x));   // expect: MHC0002 conditional
        else
            x = norm1.forward(x + self_attn.forward(x));   // expect: MHC0002 conditional
        return x;
    }
}

public sealed class SpeechModel : Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<EncoderLayer> encoder;
    private readonly ModuleList<DecoderBlock> decoder;
    private readonly LayerNorm ln;

    public SpeechModel(int n_state = 16) : base(nameof(SpeechModel))
    {
        encoder = new ModuleList<EncoderLayer>(new EncoderLayer(n_state, norm_first: true), new EncoderLayer(n_state, norm_first: false));
        decoder = new ModuleList<DecoderBlock>(Enumerable.Range(0, 2).Select(i => new DecoderBlock(n_state, cross_attention: i == 1)).ToArray());
        ln = LayerNorm(n_state);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);
    }

    public override Tensor forward(Tensor x, Tensor audio)
    {
        var xa = audio;
        foreach (var layer in encoder)
            xa = layer.forward(xa);
        x = HyperStreams.Expand(x, DecoderBlock.HyperConnectionStreams);
        x = HyperStreams.Run(x, decoder, (block, streams) => block.forward(streams, xa));
        x = HyperStreams.Reduce(x);
        return ln.forward(x);
    }
}

public static class Harness
{
    public static Module Create() => new SpeechModel();

    public static Tensor Run(Module model)
    {
        using var x = linspace(-1, 1, 2 * 4 * 16).view(2, 4, 16);
        using var audio = linspace(1, -1, 2 * 6 * 16).view(2, 6, 16);
        return ((SpeechModel)model).forward(x, audio);
    }
}
