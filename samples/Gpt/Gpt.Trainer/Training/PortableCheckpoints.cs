using Mhc.Runtime.Checkpoints;
using Mhc.Runtime.Checkpoints.Layouts;
using Mhc.Runtime.Retrofit;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>How the names of a checkpoint to start from are read (--init-names).</summary>
public enum InitNames { Exact, Gpt2, Megatron, DeepSeekV4 }

/// <summary>The layout a trained mHC model is exported in (--export-layout).</summary>
public enum ExportLayout { Megatron, DeepSeekV4 }

/// <summary>
/// Checkpoints that travel between this trainer and PyTorch: starting from a state dict written elsewhere
/// (a residual GPT under the sample's or Hugging Face GPT-2's names, or an mHC GPT in a public layout),
/// and exporting the trained model in the Megatron-LM or DeepSeek-V4 layout.
/// </summary>
public static class PortableCheckpoints
{
    public static InitNames ParseInitNames(string value) => value.ToLowerInvariant() switch
    {
        "exact" => InitNames.Exact,
        "gpt2" => InitNames.Gpt2,
        "megatron" => InitNames.Megatron,
        "deepseek-v4" => InitNames.DeepSeekV4,
        _ => throw new ArgumentException($"--init-names '{value}': use exact, gpt2, megatron or deepseek-v4."),
    };

    public static ExportLayout ParseExportLayout(string value) => value.ToLowerInvariant() switch
    {
        "megatron" => ExportLayout.Megatron,
        "deepseek-v4" => ExportLayout.DeepSeekV4,
        _ => throw new ArgumentException($"--export-layout '{value}': use megatron or deepseek-v4."),
    };

    /// <summary>
    /// Loads <paramref name="path"/> into the freshly built <paramref name="model"/>. Residual checkpoints are
    /// retrofitted (the connections keep their function-preserving init); layout checkpoints load strictly.
    /// Anything that does not fit fails with the report, before a step is trained.
    /// </summary>
    public static string Start(nn.Module model, Connection connection, ModelShape shape, string path, InitNames names)
    {
        if (names is InitNames.Megatron or InitNames.DeepSeekV4)
        {
            RequireMhc(connection, names == InitNames.Megatron ? "--init-names megatron" : "--init-names deepseek-v4");
            var report = Layout(names == InitNames.Megatron ? ExportLayout.Megatron : ExportLayout.DeepSeekV4, shape).Load(model, path);
            return $"started from {path}: {report}";
        }
        var retrofit = Retrofitter.LoadCheckpoint(model, path, names == InitNames.Gpt2 ? NameMap.HuggingFaceGpt2() : NameMap.Identity);
        if (!retrofit.IsComplete)
            throw new InvalidDataException($"--init-from {path} does not fit this GPT ({retrofit}). Check --layers, --width, --heads, --context and the text's alphabet against the checkpoint, and --init-names.");
        return $"started from {path}: {retrofit}";
    }

    /// <summary>Writes <paramref name="model"/> in <paramref name="layout"/> to <paramref name="path"/> (.safetensors, or .bin/.pt for PyTorch's format).</summary>
    public static void Export(nn.Module model, Connection connection, ModelShape shape, string path, ExportLayout layout)
    {
        RequireMhc(connection, "--export");
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        Layout(layout, shape).Save(model, path);
    }

    /// <summary>Checks the options before anything is trained.</summary>
    public static void RequireMhc(Connection connection, string option)
    {
        if (connection != Connection.Mhc)
            throw new ArgumentException($"{option} needs the mHC GPT (--connection mhc); the public layouts hold mHC connections, this run uses {connection}.");
    }

    private static CheckpointLayout Layout(ExportLayout layout, ModelShape shape) => layout == ExportLayout.Megatron
        ? new MegatronLayout(SampleGptNames.Megatron(shape.Heads))
        : new DeepSeekV4Layout(SampleGptNames.DeepSeekV4());
}
