using Mhc.Runtime.Ops;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

public class SinkhornPropertyTests
{
    [Theory]
    [InlineData(2, OpsImplementation.Fused)]
    [InlineData(4, OpsImplementation.Fused)]
    [InlineData(8, OpsImplementation.Fused)]
    [InlineData(4, OpsImplementation.Reference)]
    public void RowsSumToOneAndEntriesAreNonNegative(long n, OpsImplementation implementation)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(51 + n);
        // 37 tokens: several SIMD blocks plus a partial one.
        var logits = Random([37, n, n], 4.0, ScalarType.Float32, generator);
        var output = MhcOps.Sinkhorn(logits, 20, implementation);

        var values = Values(output);
        Assert.All(values, v => Assert.True(v >= 0 && double.IsFinite(v), $"entry {v}"));
        for (int row = 0; row < values.Length / n; row++)
        {
            double sum = 0;
            for (int j = 0; j < n; j++)
                sum += values[row * n + j];
            Assert.True(Math.Abs(sum - 1) <= 1e-6, $"row {row} sums to {sum:R}");
        }
    }

    [Fact]
    public void OutputDoesNotDependOnALogitShift()
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(57);
        var logits = Random([9, 4, 4], 3.0, ScalarType.Float64, generator);
        var shifted = logits + 50.0;
        Close(MhcOps.Sinkhorn(shifted, 20), MhcOps.Sinkhorn(logits, 20), 1e-12, "shifted logits");
    }
}
