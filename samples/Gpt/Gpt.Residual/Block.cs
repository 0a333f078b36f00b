using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Gpt.Residual;

/// <summary>A pre-norm transformer block: attention and MLP, each around a residual connection.</summary>
public sealed class Block : Module<Tensor, Tensor>
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
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = x + attn.forward(ln_1.forward(x));
        x = x + mlp.forward(ln_2.forward(x));
        return x;
    }
}
