using static TorchSharp.torch;

namespace Mhc.Runtime.Monitoring;

/// <summary>Collects each connection's H_res, flattened to [tokens, n, n], in the order the connections run.</summary>
internal sealed class ResidualMixRecorder : IDisposable
{
    private readonly List<(HyperConnection Connection, Tensor Mix)> _records = new();

    public IReadOnlyList<(HyperConnection Connection, Tensor Mix)> Records => _records;

    public void Record(HyperConnection connection, Tensor residualMix)
    {
        var n = residualMix.shape[^1];
        var copy = residualMix.detach().reshape(-1, n, n).to_type(ScalarType.Float64).clone();
        _records.Add((connection, copy.DetachFromDisposeScope()));
    }

    public void Dispose()
    {
        foreach (var (_, mix) in _records) mix.Dispose();
        _records.Clear();
    }
}
