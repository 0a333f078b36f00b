namespace Mhc.Runtime.Tests.Streams;

public class HyperStreamsTests
{
    [Fact]
    public void ExpandCopiesTheInputIntoEveryStreamContiguously()
    {
        using var x = randn(2, 3, 5);
        using var streams = HyperStreams.Expand(x, 4);
        Assert.Equal(new long[] { 2, 3, 4, 5 }, streams.shape);
        Assert.True(streams.is_contiguous());
        for (int i = 0; i < 4; i++)
            Assert.True(streams.select(-2, i).allclose(x, rtol: 0, atol: 0));
    }

    [Fact]
    public void MeanReduceUndoesExpand()
    {
        using var x = randn(2, 3, 5);
        using var streams = HyperStreams.Expand(x, 4);
        using var reduced = HyperStreams.Reduce(streams);
        Assert.True(reduced.allclose(x, rtol: 0, atol: 1e-6));
    }

    [Fact]
    public void SumReduceAddsTheStreams()
    {
        using var streams = arange(24, dtype: ScalarType.Float32).reshape(2, 3, 4);
        using var reduced = HyperStreams.Reduce(streams, ReduceMode.Sum);
        using var expected = tensor(new float[] { 0 + 4 + 8, 1 + 5 + 9, 2 + 6 + 10, 3 + 7 + 11, 12 + 16 + 20, 13 + 17 + 21, 14 + 18 + 22, 15 + 19 + 23 }).reshape(2, 4);
        Assert.True(reduced.allclose(expected, rtol: 0, atol: 0));
    }

    [Fact]
    public void LearnedReduceStartsAsTheMeanAndLearns()
    {
        using var reduce = new StreamReduce("reduce", streams: 4, channels: 6, ReduceMode.Learned);
        using var streams = randn(3, 4, 6, requires_grad: true);
        using var reduced = reduce.forward(streams);
        using var mean = streams.mean(new long[] { -2 });
        Assert.True(reduced.allclose(mean, rtol: 0, atol: 1e-6));

        reduced.square().sum().backward();
        var phiGrad = reduce.named_parameters().Single(p => p.name == "phi").parameter.grad;
        Assert.NotNull(phiGrad);
        Assert.True(phiGrad!.abs().sum().item<float>() > 0, "the learned weights receive a gradient");
    }

    [Fact]
    public void ReduceOfAOneStreamTensorNamesTheShape()
    {
        using var x = randn(5);
        var e = Assert.Throws<ArgumentException>(() => HyperStreams.Reduce(x));
        Assert.Contains("[5]", e.Message);
    }

    [Fact]
    public void StreamReduceRejectsAStreamCountMismatch()
    {
        using var reduce = new StreamReduce("reduce", streams: 4, channels: 6);
        using var wrong = randn(3, 2, 6);
        var e = Assert.Throws<ArgumentException>(() => reduce.forward(wrong));
        Assert.Contains("[..., 4, 6]", e.Message);
        Assert.Contains("[3, 2, 6]", e.Message);
    }

    [Fact]
    public void StaticLearnedReduceIsRefusedWithAPointer()
    {
        using var streams = randn(3, 4, 6);
        var e = Assert.Throws<ArgumentException>(() => HyperStreams.Reduce(streams, ReduceMode.Learned));
        Assert.Contains(nameof(StreamReduce), e.Message);
    }
}
