using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

public class DisposeHygieneTests
{
    [Theory]
    [InlineData(OpsImplementation.Fused)]
    [InlineData(OpsImplementation.Reference)]
    public void ForwardAndBackwardLeaveNoLiveTensorsBehindTheirScope(OpsImplementation implementation)
    {
        var g = manual_seed(81);
        using var x = Random([6, 4, 8], 1.0, ScalarType.Float32, g, requiresGrad: true);
        using var phi = Random([32, 24], 0.1, ScalarType.Float32, g, requiresGrad: true);
        using var bias = Random([24], 1.0, ScalarType.Float32, g, requiresGrad: true);
        using var alpha = FromValues([0.5, 0.3, 1.0], [3], ScalarType.Float32, requiresGrad: true);
        using var w = Random([8, 8], 0.3, ScalarType.Float32, g, requiresGrad: true);

        // Gradients an earlier test's backward returned may still wait for their early release, which would
        // count as tensors this scope freed.
        Mhc.Runtime.Ops.Fused.GradientHandles.ReleaseReturned();
        var statistics = DisposeScopeManager.Statistics;
        long liveBefore = statistics.ThreadTotalLiveCount;
        long outsideBefore = statistics.CreatedOutsideScopeCount;
        using (NewDisposeScope())
        {
            var result = MhcConnection.Run(x, phi, bias, alpha, w, 20, 1e-6, implementation);
            result.Output.square().sum().backward();
        }

        Assert.Equal(outsideBefore, statistics.CreatedOutsideScopeCount);
        Assert.Equal(liveBefore, statistics.ThreadTotalLiveCount);
    }
}
