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

    [Theory]
    [InlineData(ConnectionKind.Hc)]
    [InlineData(ConnectionKind.Mhc)]
    public void CompositeGainIsTheProductOfTheLayersSeenSoFar(ConnectionKind kind)
    {
        using var model = Perturbed(kind);
        using var tokens = Models.Tokens();
        var layers = ResidualMixes(model, tokens);
        var report = AmaxProbe.Measure(model, tokens);

        // C_l = H_l ⋯ H_1 per token, multiplied out here in plain arithmetic, and its gains.
        int n = (int)layers[0].GetLength(1);
        int tokenCount = layers[0].GetLength(0);
        var composite = new double[tokenCount][,];
        Assert.Equal(layers.Count, report.Connections.Count);
        for (int l = 0; l < layers.Count; l++)
        {
            var forward = new double[tokenCount];
            var backward = new double[tokenCount];
            for (int t = 0; t < tokenCount; t++)
            {
                composite[t] = l == 0 ? Matrix(layers[0], t, n) : Multiply(Matrix(layers[l], t, n), composite[t], n);
                forward[t] = Enumerable.Range(0, n).Max(i => Enumerable.Range(0, n).Sum(j => Math.Abs(composite[t][i, j])));
                backward[t] = Enumerable.Range(0, n).Max(j => Enumerable.Range(0, n).Sum(i => Math.Abs(composite[t][i, j])));
            }
            var measured = report.Connections[l];
            Assert.Equal(forward.Average(), measured.CompositeForward.Mean, 1e-9);
            Assert.Equal(forward.Max(), measured.CompositeForward.Max, 1e-9);
            Assert.Equal(backward.Average(), measured.CompositeBackward.Mean, 1e-9);
            Assert.Equal(backward.Max(), measured.CompositeBackward.Max, 1e-9);
        }
        if (kind == ConnectionKind.Hc)
            Assert.True(report.Connections[^1].CompositeForward.Max > report.Connections[^1].Forward.Max + 0.1,
                "the perturbed HC stack compounds its gains, so the check above compares more than one layer's");
    }

    /// <summary>Each connection's H_res per token, [tokens, n, n], from an eval forward without gradients.</summary>
    private static List<double[,,]> ResidualMixes(TinyGpt model, Tensor tokens)
    {
        var connections = HyperConnections.Find(model);
        using var recorder = new MixingRecorder();
        foreach (var connection in connections) connection.Recorder = recorder;
        try
        {
            model.eval();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            model.forward(tokens);
        }
        finally
        {
            foreach (var connection in connections) connection.Recorder = null;
            model.train();
        }
        return recorder.Records.Select(r =>
        {
            var (count, n) = ((int)r.Res.shape[0], (int)r.Res.shape[1]);
            var values = r.Res.contiguous().data<double>().ToArray();
            var result = new double[count, n, n];
            Buffer.BlockCopy(values, 0, result, 0, values.Length * sizeof(double));
            return result;
        }).ToList();
    }

    private static double[,] Matrix(double[,,] perToken, int token, int n)
    {
        var result = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                result[i, j] = perToken[token, i, j];
        return result;
    }

    private static double[,] Multiply(double[,] a, double[,] b, int n)
    {
        var result = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < n; k++)
                    result[i, j] += a[i, k] * b[k, j];
        return result;
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
