using Mhc.Runtime.Ops;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>
/// Under no_grad the fused ops call their kernels directly instead of through autograd nodes: the same
/// kernels, so the same bits, at a generation step's few tokens and at a batch's many, under every convention.
/// </summary>
public class NoGradPathTests
{
    [Theory]
    [InlineData(ScalarType.Float32, 1L, 4L, ConnectionConvention.MhcSpec)]
    [InlineData(ScalarType.Float32, 301L, 4L, ConnectionConvention.MhcSpec)]
    [InlineData(ScalarType.Float64, 7L, 3L, ConnectionConvention.MhcSpec)]
    [InlineData(ScalarType.Float32, 5L, 4L, ConnectionConvention.Megatron)]
    [InlineData(ScalarType.Float64, 7L, 3L, ConnectionConvention.DeepSeekV4)]
    public void ConnectionWithoutGradientsComputesTheSameBits(ScalarType dtype, long tokens, long n, ConnectionConvention convention)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(83 + tokens);
        const long channels = 24;
        long m = n * n + 2 * n;
        var x = Random([tokens, n, channels], 1.0, dtype, generator, requiresGrad: true);
        var phi = Random([n * channels, m], 0.1, dtype, generator, requiresGrad: true);
        var bias = Random([m], 1.0, dtype, generator, requiresGrad: true);
        var alpha = FromValues([0.5, 0.3, 1.0], [3], dtype, requiresGrad: true);
        var w = Random([channels, channels], 0.2, dtype, generator, requiresGrad: true);

        var tracked = MhcConnection.Run(x, phi, bias, alpha, w, 20, 1e-6, OpsImplementation.Fused, convention);
        ConnectionResult untracked;
        using (no_grad())
            untracked = MhcConnection.Run(x, phi, bias, alpha, w, 20, 1e-6, OpsImplementation.Fused, convention);

        Assert.True(tracked.Output.requires_grad);
        Assert.False(untracked.Output.requires_grad);
        foreach (var (a, b, what) in new[]
                 {
                     (untracked.Output, tracked.Output, "output"), (untracked.Pre, tracked.Pre, "H_pre"),
                     (untracked.Post, tracked.Post, "H_post"), (untracked.HRes, tracked.HRes, "H_res"),
                 })
            Assert.True(a.allclose(b.detach(), rtol: 0, atol: 0), $"{what} differs without gradients");
    }
}
