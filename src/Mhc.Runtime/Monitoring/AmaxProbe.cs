using static TorchSharp.torch;

namespace Mhc.Runtime.Monitoring;

/// <summary>
/// Measures the Amax gains (MHC-SPEC §6) of every connection of a model on one batch. Runs one forward
/// pass under <c>no_grad</c> in eval mode, so gradients, the autograd graph and the training mode are
/// left as they were; cheap enough to call every few hundred steps.
/// </summary>
public static class AmaxProbe
{
    /// <summary>Runs <paramref name="model"/> on <paramref name="input"/> and reports the gains.</summary>
    public static AmaxReport Measure<TInput>(nn.Module<TInput, Tensor> model, TInput input)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Measure(model, () => model.call(input).Dispose());
    }

    /// <summary>Reports the gains of the connections under <paramref name="model"/> while <paramref name="runForward"/> runs.</summary>
    public static AmaxReport Measure(nn.Module model, Action runForward)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(runForward);
        var named = HyperConnections.FindNamed(model);
        if (named.Count == 0)
            return new AmaxReport(Array.Empty<ConnectionGains>());

        using var recorder = new MixingRecorder();
        bool wasTraining = model.training;
        foreach (var (_, connection) in named) connection.Recorder = recorder;
        try
        {
            model.eval();
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            runForward();
        }
        finally
        {
            foreach (var (_, connection) in named) connection.Recorder = null;
            if (wasTraining) model.train();
        }

        var names = new Dictionary<HyperConnection, string>(ReferenceEqualityComparer.Instance);
        foreach (var (name, connection) in named) names[connection] = name;
        return Summarise(recorder.Records, c => names.TryGetValue(c, out var name) ? name : c.GetName());
    }

    private static AmaxReport Summarise(IReadOnlyList<RecordedMixing> records, Func<HyperConnection, string> nameOf)
    {
        using var scope = NewDisposeScope();
        long tokens = records.Count == 0 ? 0 : records[0].Res.shape[0];
        foreach (var (connection, _, _, mix) in records)
            if (mix.shape[0] != tokens)
                throw new InvalidOperationException(
                    $"Connection '{nameOf(connection)}' saw {mix.shape[0]} tokens but the first saw {tokens}; composite gains need every connection to see the same tokens.");

        var composites = AmaxGain.Composite(records.Select(r => r.Res).ToList());
        var gains = new List<ConnectionGains>(records.Count);
        for (int l = 0; l < records.Count; l++)
        {
            var (connection, _, _, mix) = records[l];
            using var columnError = (mix.sum(-2L) - 1).abs().max();
            gains.Add(new ConnectionGains(
                Order: l,
                Name: nameOf(connection),
                LayerIndex: connection.LayerIndex,
                Kind: connection.Kind,
                Forward: Statistic(AmaxGain.Forward(mix)),
                Backward: Statistic(AmaxGain.Backward(mix)),
                CompositeForward: Statistic(AmaxGain.Forward(composites[l])),
                CompositeBackward: Statistic(AmaxGain.Backward(composites[l])),
                MaxColumnError: columnError.item<double>()));
        }
        return new AmaxReport(gains);
    }

    private static GainStatistic Statistic(Tensor perToken) =>
        new(perToken.mean().item<double>(), perToken.max().item<double>());
}
