using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Connections;

/// <summary>MHC-SPEC §5: a network whose residual sites are all converted computes the original function at init.</summary>
public class FunctionPreservationTests
{
    public static TheoryData<ConnectionKind, OpsImplementation, int> Variants() => new()
    {
        { ConnectionKind.Mhc, OpsImplementation.Fused, 4 },
        { ConnectionKind.Mhc, OpsImplementation.Reference, 4 },
        { ConnectionKind.Mhc, OpsImplementation.Fused, 2 },
        { ConnectionKind.Hc, OpsImplementation.Fused, 4 },
        { ConnectionKind.Hc, OpsImplementation.Reference, 4 },
        { ConnectionKind.Residual, OpsImplementation.Fused, 1 },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void ConvertedModelEqualsTheOriginalAtInit(ConnectionKind kind, OpsImplementation implementation, int streams)
    {
        var (original, converted) = Models.Pair(new HyperConnectionOptions { Kind = kind, Implementation = implementation, Streams = streams });
        using var _ = original;
        using var __ = converted;
        using var tokens = Models.Tokens();
        using var expected = original.forward(tokens);
        using var actual = converted.forward(tokens);
        Assert.True(TensorAssert.MaxAbsDifference(actual, expected) <= 1e-6,
            $"max |difference| {TensorAssert.MaxAbsDifference(actual, expected):E2}");
    }

    [Fact]
    public void ConnectionsAreNumberedInLayerOrderAndFavourDifferentStreams()
    {
        var (original, converted) = Models.Pair(new HyperConnectionOptions());
        using var _ = original;
        using var __ = converted;
        var connections = HyperConnections.FindNamed(converted);
        Assert.Equal(new[] { "h.0.hc_attn", "h.0.hc_mlp", "h.1.hc_attn", "h.1.hc_mlp", "h.2.hc_attn", "h.2.hc_mlp" },
            connections.Select(c => c.Name));
        Assert.Equal(Enumerable.Range(0, 6), connections.Select(c => c.Connection.LayerIndex));
        var favoured = connections.Select(c =>
        {
            var bias = c.Connection.named_parameters().Single(p => p.name == "bias").parameter;
            return bias[TensorIndex.Slice(0, 4)].argmax().item<long>();
        });
        Assert.Equal(new long[] { 0, 1, 2, 3, 0, 1 }, favoured);
    }

    [Fact]
    public void StreamsDivergeAfterATrainingStep()
    {
        // Symmetry breaking: identical streams must not stay identical once the model learns.
        var (original, converted) = Models.Pair(new HyperConnectionOptions());
        using var _ = original;
        using var __ = converted;
        using var tokens = Models.Tokens();
        var optimizer = optim.SGD(converted.parameters(), 0.5);
        for (int step = 0; step < 2; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            converted.forward(tokens).square().mean().backward();
            optimizer.step();
        }

        var connection = HyperConnections.Find(converted)[1];
        using var x = HyperStreams.Expand(randn(2, 5, Models.Small.NEmbd), 4);
        using var streams = connection.forward(x, h => h.tanh());
        using var spread = (streams - streams.mean(new long[] { -2 }, keepdim: true)).abs().max();
        Assert.True(spread.item<float>() > 1e-6, "the streams stayed identical");
    }
}
