namespace Mhc.Runtime.Tests.Connections;

public class ConnectionInitTests
{
    [Theory]
    [InlineData(2, 0)]
    [InlineData(4, 0)]
    [InlineData(4, 5)]
    [InlineData(8, 11)]
    public void PreWeightsSumToOneAndFavourLayerModN(int n, int layer)
    {
        var weights = ConnectionInit.PreWeights(n, layer);
        Assert.Equal(1.0, weights.Sum(), 12);
        int favoured = Array.IndexOf(weights, weights.Max());
        Assert.Equal(layer % n, favoured);
        Assert.Equal(n - 1, weights.Count(w => w < weights.Max()));
    }

    [Fact]
    public void MhcBiasGivesUnitPostAndNearIdentityResidualLogits()
    {
        var bias = ConnectionInit.MhcBias(streams: 4, layerIndex: 1, identityLogitGap: 4);
        Assert.Equal(24, bias.Length);
        var pre = bias.Take(4).Select(b => 1 / (1 + Math.Exp(-b))).ToArray();
        Assert.Equal(1.0, pre.Sum(), 6);
        Assert.Equal(1, Array.IndexOf(pre, pre.Max()));
        Assert.All(bias.Skip(4).Take(4), b => Assert.Equal(0f, b)); // 2σ(0) = 1
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal(i == j ? 0f : -4f, bias[8 + i * 4 + j]);
    }
}
