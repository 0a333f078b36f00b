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
    /// <param name="convention">The formulas the mHC connections follow: MHC-SPEC's, or those of the engine a model is exported to.</param>
    public static nn.Module<Tensor, Tensor> Create(Connection connection, ModelShape shape, ConnectionConvention convention = ConnectionConvention.MhcSpec)
    {
        if (convention != ConnectionConvention.MhcSpec && connection != Connection.Mhc)
            throw new ArgumentException($"--convention {Conventions.Name(convention)} applies to mHC connections; this run uses {connection}.");
        if (shape.Width % shape.Heads != 0)
            throw new ArgumentException($"--width {shape.Width} must be a multiple of --heads {shape.Heads}.");
        if (connection == Connection.Residual)
            return new Gpt.Residual.GptModel(new Gpt.Residual.GptConfig
            {
                VocabSize = shape.Vocabulary, BlockSize = shape.Context, NLayer = shape.Layers, NEmbd = shape.Width, NHead = shape.Heads,
            });

        var kind = connection == Connection.Hc ? ConnectionKind.Hc : ConnectionKind.Mhc;
        using var _ = HyperConnections.OverrideOptions(options => options with { Kind = kind, Convention = convention });
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

/// <summary>The trainer's names of the connection conventions.</summary>
public static class Conventions
{
    private static readonly (string Name, ConnectionConvention Value)[] All =
        [("mhc-spec", ConnectionConvention.MhcSpec), ("megatron", ConnectionConvention.Megatron), ("deepseek-v4", ConnectionConvention.DeepSeekV4)];

    public static string Name(ConnectionConvention convention) => All.First(c => c.Value == convention).Name;

    public static ConnectionConvention Parse(string name)
        => All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)) is { Name: not null } match
            ? match.Value
            : throw new ArgumentException($"--convention '{name}' is not one of {string.Join(", ", All.Select(c => c.Name))}.");
}
