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

    /// <summary>The stream count the converted GPT was built with (MSBuild property MhcStreams of Gpt.HyperConnected).</summary>
    public static int BuiltStreams
    {
        get
        {
            // Building the probe draws initial weights from torch's global generator; put it back so a run
            // seeded before this check still reproduces.
            using var rng = get_rng_state();
            try
            {
                using var probe = Create(Connection.Mhc, new ModelShape(2, 2, 1, 8, 1));
                return HyperConnections.Find(probe)[0].Streams;
            }
            finally
            {
                set_rng_state(rng);
            }
        }
    }

    /// <summary>
    /// Fails with what to do when <paramref name="streams"/> is not the count the converted GPT was compiled
    /// with: the stream count is a compile-time constant of converted code, checked by the analyzers.
    /// </summary>
    public static void RequireStreams(int streams)
    {
        int built = BuiltStreams;
        if (streams != built)
            throw new ArgumentException(
                $"--streams {streams}: the converted GPT was compiled with {built} streams, and the count is a compile-time constant of converted code. " +
                $"Rebuild it with that many: dotnet run --project samples/Gpt/Gpt.Trainer -p:MhcStreams={streams} -- --streams {streams} ...");
    }
}
