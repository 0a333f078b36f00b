namespace Mhc.Runtime.Ops;

/// <summary>
/// How Sinkhorn stays finite for any logits, in both implementations. MHC-SPEC §3 starts from
/// exp(L − max L); both implementations shift each column by its own maximum instead, which is exact
/// (the first step normalises columns, cancelling any per-column factor) and leaves every column an
/// entry of 1. A row can still vanish as a whole when every one of its entries lies far below the rest of
/// its column (a factor of about 1e18 in float32, 1e150 in float64, i.e. logit gaps of about 41 and 345):
/// its sum is then "empty" and the row becomes a zero row with a zero gradient, where the plain formula
/// gives NaN. Every other row sums to 1 exactly as before. The thresholds keep 1/sum, and 1/sum² in the
/// reference's autograd, within range. Far past that, where the support admits no doubly stochastic
/// scaling at all, Sinkhorn does not converge and its exact gradient diverges; outputs stay finite.
/// </summary>
internal static class SinkhornNumerics
{
    /// <summary>Sums below this are empty in float32: 1/sum² is still a normal number.</summary>
    public const float EmptySumSingle = 1e-18f;

    /// <summary>Sums below this are empty in float16/bfloat16 on the reference path (float16's range is the narrow one).</summary>
    public const double EmptySumHalf = 1e-2;

    /// <summary>Sums below this are empty in float64.</summary>
    public const double EmptySumDouble = 1e-150;
}
