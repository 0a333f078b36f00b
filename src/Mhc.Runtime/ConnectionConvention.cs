namespace Mhc.Runtime;

/// <summary>
/// Which published formulas an mHC connection follows. The parameters (φ, bias, α) have the same
/// meaning in all of them; the formulas differ in details that change outputs, so a model exported to
/// another implementation must be trained and run here under that implementation's convention.
/// docs/compat-spec.md states every formula.
/// </summary>
public enum ConnectionConvention
{
    /// <summary>MHC-SPEC: H_res·x, Sinkhorn from exp ending on rows, no ε on H_pre, r = sqrt(mean(v²) + ε).</summary>
    MhcSpec,

    /// <summary>
    /// Megatron-LM's <c>HyperConnectionModule</c>: H_resᵀ·x, Sinkhorn from a row softmax plus ε with ε added to
    /// every normalising sum and ending on columns, H_pre = σ(·) + ε, r = 1 / (‖v‖/√(nC) + ε).
    /// </summary>
    Megatron,

    /// <summary>
    /// DeepSeek-V4 (its reference inference code and TileKernels): as <see cref="Megatron"/>, except that the
    /// RMS ε stays inside the square root, r = 1 / sqrt(mean(v²) + ε), as in MHC-SPEC.
    /// </summary>
    DeepSeekV4,
}
