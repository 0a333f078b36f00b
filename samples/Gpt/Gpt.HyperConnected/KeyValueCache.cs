using TorchSharp;
using static TorchSharp.torch;

namespace Gpt.HyperConnected;

/// <summary>
/// The keys and values every attention layer has computed for the tokens decoded so far, so that
/// <see cref="GptModel.Decode"/> runs only the new tokens instead of the whole window again.
/// Holds its tensors outside any dispose scope; dispose the cache to free them.
/// </summary>
public sealed class KeyValueCache : IDisposable
{
    [ThreadStatic] private static KeyValueCache? active;

    private readonly Dictionary<CausalSelfAttention, (Tensor Keys, Tensor Values)> _layers = new(ReferenceEqualityComparer.Instance);

    /// <summary>The cache of the <see cref="GptModel.Decode"/> running on this thread, null outside one.</summary>
    internal static KeyValueCache? Active => active;

    /// <summary>Number of positions cached: the position the next decoded token takes.</summary>
    public long Length { get; private set; }

    /// <summary>Forgets every cached position (a new sample, or a window that slid past the context).</summary>
    public void Clear()
    {
        foreach (var (keys, values) in _layers.Values)
        {
            keys.Dispose();
            values.Dispose();
        }
        _layers.Clear();
        Length = 0;
    }

    public void Dispose() => Clear();

    /// <summary>Makes this the cache the model's attention layers use while <paramref name="tokens"/> new positions run.</summary>
    internal Activation Activate(long tokens)
    {
        if (active is not null)
            throw new InvalidOperationException("A decode is already running on this thread; decode one model at a time.");
        active = this;
        return new Activation(this, tokens);
    }

    /// <summary>
    /// Appends one layer's keys and values of the new positions ([B, heads, T, head size]) and returns
    /// that layer's keys and values of every position so far.
    /// </summary>
    internal (Tensor Keys, Tensor Values) Append(CausalSelfAttention layer, Tensor keys, Tensor values)
    {
        if (_layers.TryGetValue(layer, out var past))
        {
            keys = cat([past.Keys, keys], dim: 2);
            values = cat([past.Values, values], dim: 2);
            past.Keys.Dispose();
            past.Values.Dispose();
        }
        else
        {
            keys = keys.clone();
            values = values.clone();
        }
        var all = (keys.DetachFromDisposeScope(), values.DetachFromDisposeScope());
        _layers[layer] = all;
        return all;
    }

    /// <summary>
    /// One decode's hold on the cache. A decode that does not <see cref="Complete"/> (it threw) clears the
    /// cache: some layers would hold the new positions and others not.
    /// </summary>
    internal sealed class Activation(KeyValueCache cache, long tokens) : IDisposable
    {
        private bool _completed;

        public void Complete() => _completed = true;

        public void Dispose()
        {
            active = null;
            if (_completed)
                cache.Length += tokens;
            else
                cache.Clear();
        }
    }
}
