using Gpt.Trainer.Corpus;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>Generates text one character at a time, sampling from the softmax of the last logits.</summary>
public static class Sampler
{
    public static string Generate(nn.Module<Tensor, Tensor> model, CharTokenizer tokenizer, string prompt, int length,
        long context, double temperature, ulong seed) =>
        tokenizer.Decode(Sample(model, tokenizer.Encode(prompt.Length == 0 ? "\n" : prompt), length, context, temperature, seed));

    /// <summary>
    /// The token ids of <paramref name="prompt"/> followed by <paramref name="length"/> sampled ones, in eval
    /// mode under no_grad. The sample GPTs decode over a key/value cache: the prompt's last
    /// <paramref name="context"/> tokens once, then one new token per step. Their positions are absolute, so
    /// when the cache is full it restarts from the last half window. Any other model, or
    /// <paramref name="useCache"/> false, runs one forward over the last <paramref name="context"/> tokens
    /// per new token. Both give the same tokens while the sequence fits the context.
    /// </summary>
    public static List<long> Sample(nn.Module<Tensor, Tensor> model, IEnumerable<long> prompt, int length, long context, double temperature,
        ulong seed, bool useCache = true)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        if (context < 1) throw new ArgumentOutOfRangeException(nameof(context), context, "The context must hold at least one token.");
        using var generator = new Generator(seed);
        var ids = new List<long>(prompt);
        if (ids.Count == 0) throw new ArgumentException("The prompt must hold at least one token.", nameof(prompt));
        bool wasTraining = model.training;
        model.eval();
        using var decoder = useCache ? CachedDecoder.For(model) : null;
        try
        {
            using var noGrad = no_grad();
            var pending = LastTokens(ids, context);
            for (int i = 0; i < length; i++)
            {
                using var scope = NewDisposeScope();
                Tensor logits;
                if (decoder is null)
                    logits = model.forward(tensor(LastTokens(ids, context)).unsqueeze(0));
                else
                {
                    if (decoder.Length + pending.Length > context)
                    {
                        decoder.Clear();
                        pending = LastTokens(ids, Math.Max(1, context / 2));
                    }
                    logits = decoder.Decode(tensor(pending).unsqueeze(0));
                }
                var next = multinomial((logits[0, -1] / temperature).softmax(-1), 1, generator: generator).item<long>();
                ids.Add(next);
                pending = [next];
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return ids;
    }

    private static long[] LastTokens(List<long> ids, long count) => ids.Skip(Math.Max(0, ids.Count - (int)count)).ToArray();
}
