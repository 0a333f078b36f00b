using Mhc.Runtime.Monitoring;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Monitoring;

public class AmaxProbeTests
{
    /// <summary>Pushes every connection parameter far from its init, as long unstable training would.</summary>
    private static TinyGpt Perturbed(ConnectionKind kind, int seed = 21, ConnectionConvention convention = ConnectionConvention.MhcSpec)
    {
        manual_seed(seed);
        var model = new TinyGpt(Models.Small, new HyperConnectionOptions { Kind = kind, Convention = convention });
        using (no_grad())
            foreach (var connection in HyperConnections.Find(model))
                foreach (var p in connection.parameters())
                    p.add_(randn_like(p) * 1.5);
        return model;
    }

    [Fact]
    public void MhcForwardGainIsOneAndCompositeGainIsBoundedEvenFarFromInit()
    {
        using var model = Perturbed(ConnectionKind.Mhc);
        using var tokens = Models.Tokens();
        var report = AmaxProbe.Measure(model, tokens);

        Assert.Equal(6, report.Connections.Count);
        foreach (var c in report.Connections)
        {
            Assert.InRange(c.Forward.Mean, 1 - 1e-6, 1 + 1e-6);
            Assert.InRange(c.Forward.Max, 1 - 1e-6, 1 + 1e-6);
            Assert.InRange(c.CompositeForward.Max, 1 - 1e-5, 1 + 1e-5);
            Assert.True(c.Backward.Max >= 1 - 1e-6, "column sums average 1, so the largest is at least 1");
        }
    }

    /// <summary>
    /// Under Megatron-LM's convention Sinkhorn ends on columns and the streams are mixed by H_resᵀ: the probe
    /// measures that matrix, whose rows are the exact ones (up to ε), so the forward gain is again 1.
    /// </summary>
    [Fact]
    public void UnderMegatronsConventionTheProbeMeasuresTheTransposedMix()
    {
        using var model = Perturbed(ConnectionKind.Mhc, convention: ConnectionConvention.Megatron);
        using var tokens = Models.Tokens();
        var report = AmaxProbe.Measure(model, tokens);
        foreach (var c in report.Connections)
            Assert.InRange(c.Forward.Max, 1 - 1e-5, 1 + 1e-5);
        Assert.Contains(report.Connections, c => c.Backward.Max > 1 + 1e-3);
    }

    [Fact]
    public void HcGainsAreUnconstrainedAndExceedOne()
    {
        using var model = Perturbed(ConnectionKind.Hc);
        using var tokens = Models.Tokens();
        var report = AmaxProbe.Measure(model, tokens);
        Assert.Contains(report.Connections, c => c.Forward.Max > 1.5);
        Assert.True(report.MaxCompositeGain > 2, $"composite gain {report.MaxCompositeGain}");
    }

    [Fact]
    public void ReportIsInLayerOrderWithQualifiedNames()
    {
        using var model = Perturbed(ConnectionKind.Mhc);
        using var tokens = Models.Tokens();
        var report = AmaxProbe.Measure(model, tokens);
        Assert.Equal(Enumerable.Range(0, 6), report.Connections.Select(c => c.Order));
        Assert.Equal(Enumerable.Range(0, 6), report.Connections.Select(c => c.LayerIndex));
        Assert.Equal("h.0.hc_attn", report.Connections[0].Name);
        Assert.Equal("h.2.hc_mlp", report.Connections[5].Name);
        Assert.Contains("h.1.hc_attn", report.ToTable());
    }

    [Fact]
    public void CompositeGainIsTheProductOfTheLayersSeenSoFar()
    {
        using var model = Perturbed(ConnectionKind.Hc);
        using var tokens = Models.Tokens();
        var report = AmaxProbe.Measure(model, tokens);
        // Layer 0's composite is its own matrix; later composites differ from the single-layer gains.
        Assert.Equal(report.Connections[0].Forward.Max, report.Connections[0].CompositeForward.Max, 9);
        Assert.NotEqual(report.Connections[3].Forward.Max, report.Connections[3].CompositeForward.Max, 6);
    }

    [Fact]
    public void ProbeLeavesGradientsAndTrainingModeAlone()
    {
        using var model = Perturbed(ConnectionKind.Mhc);
        using var tokens = Models.Tokens();
        model.train();
        using (var loss = model.forward(tokens).square().mean())
            loss.backward();
        var before = model.parameters().Select(p => p.grad!.clone()).ToList();

        AmaxProbe.Measure(model, tokens);

        Assert.True(model.training);
        foreach (var (p, g) in model.parameters().Zip(before))
            Assert.True(p.grad!.allclose(g, rtol: 0, atol: 0));
    }

    [Fact]
    public void ModelWithoutConnectionsGivesAnEmptyReport()
    {
        using var model = new TinyGpt(Models.Small);
        using var tokens = Models.Tokens();
        var report = AmaxProbe.Measure(model, tokens);
        Assert.Empty(report.Connections);
    }
}
