using System.Numerics;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// The parts of the coefficient formulas that differ between conventions (docs/compat-spec.md §2): where
/// the RMS ε sits and what is added to H_pre. The kernel keeps one statistic s per token: s = r for ε inside
/// the root (r = sqrt(mean(v²) + ε)), s = ‖v‖/√(nC) for ε outside (r = s + ε). In both cases ∂s/∂v = v/(nC·s),
/// so the backward needs only s and r.
/// </summary>
internal readonly record struct CoefficientsForm<T>(T RmsEpsilon, bool EpsilonOutsideRoot, T PreOffset)
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The per-token statistic s from mean(v²).</summary>
    public T Statistic(T meanSquare) => EpsilonOutsideRoot ? T.Sqrt(meanSquare) : T.Sqrt(meanSquare + RmsEpsilon);

    /// <summary>The divisor r of v·φ, from s.</summary>
    public T Divisor(T statistic) => EpsilonOutsideRoot ? statistic + RmsEpsilon : statistic;

    /// <summary>
    /// The factor of v in ∂loss/∂v from ∂loss/∂r·r (<paramref name="scaledGradient"/>): ∂r/∂v = v/(nC·s).
    /// s = 0 only for v = 0 with ε outside the root, where the norm's slope is taken as 0, as PyTorch does.
    /// </summary>
    public T SlopeFactor(T scaledGradient, T statistic, T invWidth)
        => statistic == T.Zero ? T.Zero : scaledGradient / (Divisor(statistic) * statistic) * invWidth;
}
