namespace Mhc.Runtime.Ops;

/// <summary>
/// What each <see cref="ConnectionConvention"/> changes, in one place (docs/compat-spec.md): both
/// implementations ask here, so the fused and the reference path cannot drift apart.
/// </summary>
internal static class Conventions
{
    /// <summary>
    /// The ε Megatron-LM and DeepSeek-V4 add to H_pre and to every Sinkhorn sum (Megatron's
    /// <c>_MHC_SINKHORN_EPS</c> and <c>_MHC_COMPUTE_H_EPS</c>, DeepSeek's <c>hc_eps</c>, all 1e-6).
    /// </summary>
    public const double Epsilon = 1e-6;

    /// <summary>The residual is mixed with H_resᵀ: out[i] = Σ_j H_res[j,i]·x[j] (their Sinkhorn ends on columns).</summary>
    public static bool TransposesResidualMix(this ConnectionConvention convention) => convention != ConnectionConvention.MhcSpec;

    /// <summary>Sinkhorn starts from softmax(rows) + ε, adds ε to every sum, and ends on columns.</summary>
    public static bool SinkhornFromSoftmax(this ConnectionConvention convention) => convention != ConnectionConvention.MhcSpec;

    /// <summary>What is added to σ(·) in H_pre.</summary>
    public static double PreOffset(this ConnectionConvention convention) => convention == ConnectionConvention.MhcSpec ? 0 : Epsilon;

    /// <summary>r = ‖v‖/√(nC) + ε instead of sqrt(mean(v²) + ε).</summary>
    public static bool RmsEpsilonOutsideRoot(this ConnectionConvention convention) => convention == ConnectionConvention.Megatron;
}
