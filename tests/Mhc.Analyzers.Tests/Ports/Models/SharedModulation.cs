using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

// A diffusion transformer with one modulation for all blocks (PixArt's adaLN-single): each block adds its own table
// to the shared timestep embedding, shaped by the batch size read off the stream (x.shape[0], x.size(0)), and gates
// its residual branches with the result.
namespace Ports.SharedModulation;

public sealed class PixArtBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm1, norm2;
    private readonly Linear attn, fc1, fc2;
    private readonly Parameter scale_shift_table;

    public PixArtBlock(int hidden_size) : base(nameof(PixArtBlock))
    {
        norm1 = LayerNorm(hidden_size, elementwise_affine: false, eps: 1e-6);
        norm2 = LayerNorm(hidden_size, elementwise_affine: false, eps: 1e-6);
        attn = Linear(hidden_size, hidden_size);
        fc1 = Linear(hidden_size, 2 * hidden_size);
        fc2 = Linear(2 * hidden_size, hidden_size);
        scale_shift_table = Parameter(randn(4, hidden_size) / System.Math.Sqrt(hidden_size));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor t)
    {
        var B = x.shape[0];
        var modulation = (scale_shift_table.unsqueeze(0) + t.reshape(B, 4, -1)).chunk(4, dim: 1);
        var (shift_msa, scale_msa, gate_msa, gate_mlp) = (modulation[0], modulation[1], modulation[2], modulation[3]);
        x = x + gate_msa * attn.forward(norm1.forward(x) * (1 + scale_msa) + shift_msa);   // expect: MHC0001
        x = x + gate_mlp.reshape(x.size(0), 1, -1) * fc2.forward(functional.gelu(fc1.forward(norm2.forward(x))));   // expect: MHC0001
        return x;
    }
}

public sealed class PixArt : Module<Tensor, Tensor, Tensor>
{
    private readonly ModuleList<PixArtBlock> blocks;
    private readonly Sequential t_block;
    private readonly LayerNorm norm_out;

    public PixArt(int hidden_size = 16, int depth = 2) : base(nameof(PixArt))
    {
        blocks = new ModuleList<PixArtBlock>(Enumerable.Range(0, depth).Select(_ => new PixArtBlock(hidden_size)).ToArray());
        t_block = Sequential(SiLU(), Linear(hidden_size, 4 * hidden_size));
        norm_out = LayerNorm(hidden_size);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor timestep_embedding)
    {
        var t0 = t_block.forward(timestep_embedding);
        foreach (var block in blocks)
            x = block.forward(x, t0);
        return norm_out.forward(x);
    }
}

public static class Harness
{
    public static Module Create() => new PixArt();

    public static Tensor Run(Module model)
    {
        using var x = linspace(-1, 1, 2 * 5 * 16).view(2, 5, 16);
        using var t = linspace(0.5, -0.5, 2 * 16).view(2, 16);
        return ((PixArt)model).forward(x, t);
    }
}
