using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// Autoregressive sampling as samples/Gpt/Gpt.Trainer's Sampler does it: eval mode, no_grad, one
/// forward over the last <c>context</c> tokens per new token, multinomial draw from the softmax.
/// A fixed sampling seed per run keeps the variants' windows comparable.
/// </summary>
internal sealed class Generation(nn.Module<Tensor, Tensor> model, long context, int tokens, ulong seed)
{
    public int Tokens => tokens;

    public void Run()
    {
        using var generator = new Generator(seed);
        var ids = new List<long> { 0 };
        model.eval();
        try
        {
            using var noGrad = no_grad();
            for (int i = 0; i < tokens; i++)
            {
                using var scope = NewDisposeScope();
                var window = ids.Skip(Math.Max(0, ids.Count - (int)context)).ToArray();
                var logits = model.forward(tensor(window).unsqueeze(0))[0, -1];
                ids.Add(multinomial(logits.softmax(-1), 1, generator: generator).item<long>());
            }
        }
        finally
        {
            model.train();
        }
    }
}
