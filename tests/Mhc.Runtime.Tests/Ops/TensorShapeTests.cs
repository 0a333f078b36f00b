using Mhc.Runtime.Ops;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>The sizes read a dimension at a time agree with TorchSharp's <c>shape</c>, at every rank and for views.</summary>
public class TensorShapeTests
{
    public static TheoryData<long[]> Shapes => new() { Array.Empty<long>(), new long[] { 0 }, new long[] { 7 }, new long[] { 2, 3 }, new long[] { 1, 1, 4, 256 }, new long[] { 2, 0, 4, 3, 5 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void OfGivesWhatShapeGives(long[] sizes)
    {
        using var scope = NewDisposeScope();
        var tensor = zeros(sizes);
        Assert.Equal(tensor.shape, TensorShape.Of(tensor));
        Assert.True(TensorShape.Is(tensor, sizes));
    }

    [Fact]
    public void ViewsReportTheirOwnSizes()
    {
        using var scope = NewDisposeScope();
        var view = zeros(3, 4, 5).transpose(0, 2)[TensorIndex.Slice(1, 3)];
        Assert.Equal(new long[] { 2, 4, 3 }, TensorShape.Of(view));
    }

    [Fact]
    public void IsRejectsOtherRanksAndSizes()
    {
        using var scope = NewDisposeScope();
        var tensor = zeros(2, 3, 4);
        Assert.False(TensorShape.Is(tensor, [2, 3]));
        Assert.False(TensorShape.Is(tensor, [2, 3, 4, 1]));
        Assert.False(TensorShape.Is(tensor, [2, 3, 5]));
        Assert.False(TensorShape.Is(tensor, [1, 3, 4]));
        Assert.False(TensorShape.Is(tensor, []));
    }
}
