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

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void CoefficientsBackwardMatchesFiniteDifferences(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(21 + n);
        long m = n * n + 2 * n;
        var x = Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var phi = Random([n * Channels, m], 0.5, ScalarType.Float64, generator, requiresGrad: true);
        var bias = Random([m], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var alpha = FromValues([0.7, -0.4, 1.3], [3], ScalarType.Float64, requiresGrad: true);
        GradientCheck.AllInputs(t =>
        {
            var (pre, post, res) = MhcOps.Coefficients(t[0], t[1], t[2], t[3]);
            return cat([pre.flatten(), post.flatten(), res.flatten()]);
        }, [x, phi, bias, alpha], generator, "coefficients");
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
