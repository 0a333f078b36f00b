using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Ops;

/// <summary>
/// The numeric building blocks of one mHC connection (MHC-SPEC §2–§3, §7), each available as a fused
/// kernel with its own backward and as a reference composition of TorchSharp operations.
/// Shapes: x is [..., n, C] (any leading dims), coefficient tensors are [..., n] / [..., n, n].
/// </summary>
public static class MhcOps
{
    /// <summary>Sinkhorn–Knopp projection of logits [..., n, n] onto (approximately) doubly stochastic matrices; rows exact.</summary>
    public static Tensor Sinkhorn(Tensor logits, int iterations, OpsImplementation implementation = OpsImplementation.Fused)
        => throw new NotImplementedException();

    /// <summary>
    /// Coefficients of Eq. 14–18 from streams x [..., n, C]: H_pre = σ(·) [..., n], H_post = 2σ(·) [..., n],
    /// and the H_res logits [..., n, n] (before Sinkhorn). phi is [n·C, n²+2n] (columns [pre n | post n | res n²]),
    /// bias [n²+2n], alpha [3] = (α_pre, α_post, α_res).
    /// </summary>
    public static (Tensor Pre, Tensor Post, Tensor ResLogits) Coefficients(
        Tensor x, Tensor phi, Tensor bias, Tensor alpha, double rmsEps = 1e-6,
        OpsImplementation implementation = OpsImplementation.Fused)
        => throw new NotImplementedException();

    /// <summary>Pre-mix h = Σ_i H_pre[i]·x[i,:]: x [..., n, C], hPre [..., n] → [..., C].</summary>
    public static Tensor PreMix(Tensor x, Tensor hPre, OpsImplementation implementation = OpsImplementation.Fused)
        => throw new NotImplementedException();

    /// <summary>
    /// Res-mix + post-mix + merge in one pass: out[i,:] = Σ_j H_res[i,j]·x[j,:] + H_post[i]·f.
    /// x [..., n, C], hRes [..., n, n], hPost [..., n], f [..., C] → [..., n, C].
    /// </summary>
    public static Tensor Merge(Tensor x, Tensor hRes, Tensor hPost, Tensor branchOutput,
        OpsImplementation implementation = OpsImplementation.Fused)
        => throw new NotImplementedException();
}
