using Mhc.Runtime.Ops;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>Bad arguments fail in the forward with the argument named and both shapes in the message.</summary>
public class OpsArgumentTests
{
    [Fact]
    public void SinkhornRejectsNonSquareLogits()
    {
        using var scope = NewDisposeScope();
        AssertShapeError(() => MhcOps.Sinkhorn(zeros(2, 3, 4), 20), "logits", expected: "[2, 4, 4]", actual: "[2, 3, 4]");
    }

    [Theory]
    [InlineData(OpsImplementation.Fused)]
    [InlineData(OpsImplementation.Reference)]
    public void SinkhornRejectsRankOneLogits(OpsImplementation implementation)
    {
        using var scope = NewDisposeScope();
        AssertShapeError(() => MhcOps.Sinkhorn(zeros(4), 20, implementation), "logits", expected: "[..., n, n]", actual: "[4]");
    }

    [Fact]
    public void SinkhornRejectsZeroIterations()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentOutOfRangeException>(() => MhcOps.Sinkhorn(zeros(4, 4), 0));
    }

    [Theory]
    [InlineData(OpsImplementation.Fused)]
    [InlineData(OpsImplementation.Reference)]
    public void PreMixRejectsWrongStreamCount(OpsImplementation implementation)
    {
        using var scope = NewDisposeScope();
        AssertShapeError(() => MhcOps.PreMix(zeros(2, 4, 8), zeros(2, 3), implementation), "hPre", expected: "[2, 4]", actual: "[2, 3]");
    }

    [Fact]
    public void MergeRejectsMismatchedLeadingDims()
    {
        using var scope = NewDisposeScope();
        AssertShapeError(() => MhcOps.Merge(zeros(2, 4, 8), zeros(3, 4, 4), zeros(2, 4), zeros(2, 8)), "hRes", expected: "[2, 4, 4]", actual: "[3, 4, 4]");
    }

    [Fact]
    public void MergeRejectsWrongChannelCount()
    {
        using var scope = NewDisposeScope();
        AssertShapeError(() => MhcOps.Merge(zeros(2, 4, 8), zeros(2, 4, 4), zeros(2, 4), zeros(2, 7)), "branchOutput", expected: "[2, 8]", actual: "[2, 7]");
    }

    [Fact]
    public void CoefficientsRejectsPhiOfTheWrongShape()
    {
        using var scope = NewDisposeScope();
        AssertShapeError(() => MhcOps.Coefficients(zeros(5, 4, 8), zeros(32, 20), zeros(24), zeros(3)), "phi", expected: "[32, 24]", actual: "[32, 20]");
    }

    [Fact]
    public void ShapeErrorsSayWhereTheExpectedSizesComeFrom()
    {
        // The meaning is written only when a check fails; it must still name n, C and x's shape.
        using var scope = NewDisposeScope();
        var phi = Assert.Throws<ArgumentException>(() => MhcOps.Coefficients(zeros(5, 4, 8), zeros(32, 20), zeros(24), zeros(3)));
        Assert.Contains("n = 4, C = 8 from x [5, 4, 8]", phi.Message);
        var bias = Assert.Throws<ArgumentException>(() => MhcOps.Coefficients(zeros(5, 4, 8), zeros(32, 24), zeros(20), zeros(3)));
        Assert.Contains("[n²+2n], n = 4, C = 8 from x [5, 4, 8]", bias.Message);
        var post = Assert.Throws<ArgumentException>(() => MhcOps.Merge(zeros(2, 4, 8), zeros(2, 4, 4), zeros(2, 3), zeros(2, 8)));
        Assert.Contains("x's leading dims + [n], n = 4, C = 8 from x [2, 4, 8]", post.Message);
        var pre = Assert.Throws<ArgumentException>(() => MhcOps.PreMix(zeros(2, 4, 8), zeros(2, 3)));
        Assert.Contains("n = 4 from x [2, 4, 8]", pre.Message);
    }

    [Fact]
    public void FusedPathRejectsNonContiguousInput()
    {
        using var scope = NewDisposeScope();
        var x = zeros(2, 8, 4).transpose(1, 2);
        var error = Assert.Throws<ArgumentException>(() => MhcOps.PreMix(x, zeros(2, 4)));
        Assert.Equal("x", error.ParamName);
        Assert.Contains(".contiguous()", error.Message);
        // The reference path takes strided tensors as they are.
        Assert.Equal([2L, 8L], MhcOps.PreMix(x, zeros(2, 4), OpsImplementation.Reference).shape);
    }

    [Theory]
    [InlineData(ScalarType.Float16)]
    [InlineData(ScalarType.BFloat16)]
    [InlineData(ScalarType.Int32)]
    public void FusedPathRejectsOtherDtypes(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<NotSupportedException>(() => MhcOps.Sinkhorn(zeros([3, 4, 4], dtype), 20));
        Assert.Contains(dtype.ToString(), error.Message);
    }

    [Fact]
    public void MixedDtypesAreRejected()
    {
        using var scope = NewDisposeScope();
        var error = Assert.Throws<ArgumentException>(() =>
            MhcOps.PreMix(zeros([2, 4, 8], ScalarType.Float32), zeros([2, 4], ScalarType.Float64)));
        Assert.Equal("hPre", error.ParamName);
        Assert.Contains("Float64", error.Message);
        Assert.Contains("Float32", error.Message);
    }

    private static void AssertShapeError(Func<object> call, string argument, string expected, string actual)
    {
        var error = Assert.Throws<ArgumentException>(call);
        Assert.Equal(argument, error.ParamName);
        Assert.Contains(expected, error.Message);
        Assert.Contains("got " + actual, error.Message);
    }
}
