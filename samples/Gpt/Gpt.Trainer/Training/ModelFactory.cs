using Mhc.Runtime;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>Which residual connection the trained GPT uses.</summary>
public enum Connection { Residual, Hc, Mhc }

/// <summary>The sizes of the GPT to train.</summary>
public sealed record ModelShape(long Vocabulary, long Context, int Layers, long Width, long Heads);

/// <summary>
/// Builds the GPT: the plain residual model (<c>Gpt.Residual</c>) or the tool-converted one
/// (<c>Gpt.HyperConnected</c>) with its connections set to mHC or HC for this run.
/// </summary>
public static class ModelFactory
{
    public static nn.Module<Tensor, Tensor> Create(Connection connection, ModelShape shape)
    {
        if (shape.Width % shape.Heads != 0)
            throw new ArgumentException($"--width {shape.Width} must be a multiple of --heads {shape.Heads}.");
        if (connection == Connection.Residual)
            return new Gpt.Residual.GptModel(new Gpt.Residual.GptConfig
            {
                VocabSize = shape.Vocabulary, BlockSize = shape.Context, NLayer = shape.Layers, NEmbd = shape.Width, NHead = shape.Heads,
            });

        var kind = connection == Connection.Hc ? ConnectionKind.Hc : ConnectionKind.Mhc;
        using var _ = HyperConnections.OverrideOptions(options => options with { Kind = kind });
        return new Gpt.HyperConnected.GptModel(new Gpt.HyperConnected.GptConfig
        {
            VocabSize = shape.Vocabulary, BlockSize = shape.Context, NLayer = shape.Layers, NEmbd = shape.Width, NHead = shape.Heads,
        });
    }
}
