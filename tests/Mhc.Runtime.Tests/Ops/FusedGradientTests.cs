using Mhc.Runtime.Ops;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>
/// Float64 finite-difference checks of each fused op's hand-written backward, with leading dims [2, 3]
/// (n = 3 gives an odd projection count m = 15).
/// </summary>
public class FusedGradientTests
{
    private static readonly long[] Leading = [2, 3];
    // 5 channels leave a remainder after every SIMD width, so the scalar tails are checked too.
    private const long Channels = 5;

    public static TheoryData<long> StreamCounts => [2, 3, 4];

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void SinkhornBackwardMatchesFiniteDifferences(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(11 + n);
        var logits = Random([.. Leading, n, n], 2.0, ScalarType.Float64, generator, requiresGrad: true);
        GradientCheck.AllInputs(t => MhcOps.Sinkhorn(t[0], 20), [logits], generator, "sinkhorn");
    }

    /// <summary>
    /// n, the RMS ε and the scale of x. With x ~ 0.4 the mean square of v is about ε = 0.2, so the large-ε
    /// case moves r (and its gradient) far from the default's.
    /// </summary>
    public static TheoryData<long, double, double> CoefficientCases =>
        new() { { 2, 1e-6, 1.0 }, { 3, 1e-6, 1.0 }, { 4, 1e-6, 1.0 }, { 4, 0.2, 0.4 }, { 3, 0.2, 0.4 } };

    [Theory]
    [MemberData(nameof(CoefficientCases))]
    public void CoefficientsBackwardMatchesFiniteDifferences(long n, double rmsEps, double xScale)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(21 + n);
        long m = n * n + 2 * n;
        var x = Random([.. Leading, n, Channels], xScale, ScalarType.Float64, generator, requiresGrad: true);
        var phi = Random([n * Channels, m], 0.5, ScalarType.Float64, generator, requiresGrad: true);
        var bias = Random([m], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var alpha = FromValues([0.7, -0.4, 1.3], [3], ScalarType.Float64, requiresGrad: true);
        Tensor Coefficients(Tensor[] t, OpsImplementation implementation)
        {
            var (pre, post, res) = MhcOps.Coefficients(t[0], t[1], t[2], t[3], rmsEps, implementation);
            return cat([pre.flatten(), post.flatten(), res.flatten()]);
        }

        // The finite differences check the backward against the fused forward; the reference checks that
        // forward takes ε where the spec puts it.
        Close(Coefficients([x, phi, bias, alpha], OpsImplementation.Fused),
            Coefficients([x, phi, bias, alpha], OpsImplementation.Reference), 1e-12, $"forward, ε = {rmsEps}");
        GradientCheck.AllInputs(t => Coefficients(t, OpsImplementation.Fused), [x, phi, bias, alpha], generator, "coefficients");
    }

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void PreMixBackwardMatchesFiniteDifferences(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(31 + n);
        var x = Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var hPre = Random([.. Leading, n], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        GradientCheck.AllInputs(t => MhcOps.PreMix(t[0], t[1]), [x, hPre], generator, "pre-mix");
    }

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void MergeBackwardMatchesFiniteDifferences(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(41 + n);
        var x = Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var hRes = Random([.. Leading, n, n], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var hPost = Random([.. Leading, n], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var branch = Random([.. Leading, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        GradientCheck.AllInputs(t => MhcOps.Merge(t[0], t[1], t[2], t[3]), [x, hRes, hPost, branch], generator, "merge");
    }
}
