using static TorchSharp.torch;

namespace Mhc.Runtime.Monitoring;

/// <summary>
/// One connection's mixing as it ran, in float64, flattened over tokens: H_pre [tokens, n], H_post
/// [tokens, n] (null for a residual connection, which has neither) and H_res [tokens, n, n].
/// </summary>
internal sealed record RecordedMixing(HyperConnection Connection, Tensor? Pre, Tensor? Post, Tensor Res);

/// <summary>Collects each connection's mixing coefficients in the order the connections run.</summary>
internal sealed class MixingRecorder : IDisposable
{
    private readonly List<RecordedMixing> _records = new();

    public IReadOnlyList<RecordedMixing> Records => _records;

    public void Record(HyperConnection connection, Tensor? pre, Tensor? post, Tensor res)
    {
        long n = res.shape[^1];
        _records.Add(new RecordedMixing(connection, Copy(pre, n), Copy(post, n), Copy(res, n, n)!));
    }

    private static Tensor? Copy(Tensor? mixing, params long[] perToken)
    {
        if (mixing is null)
            return null;
        var copy = mixing.detach().reshape([-1, .. perToken]).to_type(ScalarType.Float64).clone();
        return copy.DetachFromDisposeScope();
    }

    public void Dispose()
    {
        foreach (var record in _records)
            foreach (var tensor in new[] { record.Pre, record.Post, record.Res })
                tensor?.Dispose();
        _records.Clear();
    }
}
