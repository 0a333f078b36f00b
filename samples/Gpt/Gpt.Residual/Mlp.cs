using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Gpt.Residual;

/// <summary>The position-wise feed-forward network: expand 4×, GELU, project back.</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear c_fc, c_proj;
    private readonly Dropout dropout;

    public Mlp(GptConfig config) : base(nameof(Mlp))
    {
        c_fc = Linear(config.NEmbd, 4 * config.NEmbd);
        c_proj = Linear(4 * config.NEmbd, config.NEmbd);
        dropout = Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var hidden = functional.gelu(c_fc.forward(x));
        return dropout.forward(c_proj.forward(hidden)).MoveToOuterDisposeScope();
    }
}
