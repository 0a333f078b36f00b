using Gpt.Trainer.Training;

namespace Mhc.Runtime.Tests.Checkpoints;

/// <summary>The sample GPT at a small size, with weights moved off any init as a stand-in for a trained model.</summary>
internal static class TrainedSampleGpt
{
    public static readonly ModelShape Shape = new(Vocabulary: 23, Context: 16, Layers: 2, Width: 32, Heads: 4);

    public static nn.Module<Tensor, Tensor> Create(Connection connection, int seed, double spread = 0.1)
    {
        manual_seed(seed);
        var model = ModelFactory.Create(connection, Shape);
        using (no_grad())
            foreach (var p in model.parameters())
                p.add_(randn_like(p) * spread);
        return model;
    }

    public static Tensor Tokens(int seed = 4) =>
        randint(0, Shape.Vocabulary, new long[] { 2, Shape.Context }, generator: new Generator((ulong)seed));
}
