using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>
/// Runs one of the sample GPTs over its key/value cache: each call computes only the tokens it is given,
/// at the positions after those already cached. Null from <see cref="For"/> for any other model.
/// </summary>
public sealed class CachedDecoder : IDisposable
{
    private readonly Func<Tensor, Tensor> _decode;
    private readonly Func<long> _length;
    private readonly Action _clear;

    private CachedDecoder(Func<Tensor, Tensor> decode, Func<long> length, Action clear)
    {
        _decode = decode;
        _length = length;
        _clear = clear;
    }

    public static CachedDecoder? For(nn.Module<Tensor, Tensor> model) => model switch
    {
        Gpt.Residual.GptModel residual => Over(new Gpt.Residual.KeyValueCache(), residual.Decode, c => c.Length, c => c.Clear()),
        Gpt.HyperConnected.GptModel converted =>
            Over(new Gpt.HyperConnected.KeyValueCache(), converted.Decode, c => c.Length, c => c.Clear()),
        _ => null,
    };

    // The two models are copies of one source in two namespaces, with no type in common.
    private static CachedDecoder Over<TCache>(TCache cache, Func<Tensor, TCache, Tensor> decode, Func<TCache, long> length,
        Action<TCache> clear) => new(idx => decode(idx, cache), () => length(cache), () => clear(cache));

    /// <summary>Positions cached so far.</summary>
    public long Length => _length();

    /// <summary>Logits [B, T, vocab] of <paramref name="idx"/> [B, T], the tokens after the cached ones.</summary>
    public Tensor Decode(Tensor idx) => _decode(idx);

    /// <summary>Frees the cached keys and values; the next <see cref="Decode"/> starts at position 0.</summary>
    public void Clear() => _clear();

    public void Dispose() => _clear();
}
