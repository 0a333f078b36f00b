using Gpt.Residual;

namespace Mhc.Runtime.Tests.Support;

internal static class Models
{
    public static readonly GptConfig Small = new() { VocabSize = 17, NEmbd = 32, NHead = 4, NLayer = 3, BlockSize = 16 };

    /// <summary>The ordinary residual GPT and its hyper-connected form, built from the same seed.</summary>
    public static (TinyGpt Original, TinyGpt Converted) Pair(HyperConnectionOptions options, int seed = 7)
    {
        manual_seed(seed);
        var original = new TinyGpt(Small);
        manual_seed(seed);
        var converted = new TinyGpt(Small, options);
        return (original, converted);
    }

    public static Tensor Tokens(int batch = 2, int seed = 3)
    {
        var generator = new Generator((ulong)seed);
        return randint(0, Small.VocabSize, new long[] { batch, Small.BlockSize }, generator: generator);
    }
}
