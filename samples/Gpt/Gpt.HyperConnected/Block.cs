using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Gpt.HyperConnected;

/// <summary>A pre-norm transformer block: attention and MLP, each around a residual connection.</summary>
[HyperConnected]
public sealed partial class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm ln_1, ln_2;
    private readonly CausalSelfAttention attn;
    private readonly Mlp mlp;

    public Block(GptConfig config) : base(nameof(Block))
    {
        ln_1 = LayerNorm(config.NEmbd);
        attn = new CausalSelfAttention(config);
        ln_2 = LayerNorm(config.NEmbd);
        mlp = new Mlp(config);
        InitializeHyperConnections(channels: config.NEmbd);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));
        x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));
        return x;
    }
}
