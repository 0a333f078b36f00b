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
    /// The token ids of <paramref name="prompt"/> followed by <paramref name="length"/> sampled ones: eval mode,
    /// no_grad, one forward over the last <paramref name="context"/> tokens per new token.
    /// </summary>
    public static List<long> Sample(nn.Module<Tensor, Tensor> model, IEnumerable<long> prompt, int length, long context, double temperature, ulong seed)
    {
        if (temperature <= 0) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        using var generator = new Generator(seed);
        var ids = new List<long>(prompt);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int i = 0; i < length; i++)
            {
                using var scope = NewDisposeScope();
                var window = ids.Skip(Math.Max(0, ids.Count - (int)context)).ToArray();
                var logits = model.forward(tensor(window).unsqueeze(0))[0, -1] / temperature;
                var next = multinomial(logits.softmax(-1), 1, generator: generator);
                ids.Add(next.item<long>());
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
        return ids;
    }
}
