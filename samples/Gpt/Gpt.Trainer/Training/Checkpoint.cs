using System.Text.Json;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>A trained model on disk: its weights (TorchSharp format) and what is needed to rebuild it.</summary>
/// <param name="Convention">The mHC connections' formulas; checkpoints written before it existed read as MHC-SPEC.</param>
public sealed record Checkpoint(Connection Connection, ModelShape Shape, string Alphabet, int Steps,
    Mhc.Runtime.ConnectionConvention Convention = Mhc.Runtime.ConnectionConvention.MhcSpec)
{
    private const string WeightsFile = "model.bin", MetadataFile = "checkpoint.json";
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Save(string directory, nn.Module model)
    {
        Directory.CreateDirectory(directory);
        // Staged, so an interrupted save never leaves a half-written checkpoint; the metadata last.
        StagedFile.Write(Path.Combine(directory, WeightsFile), path => model.save(path));
        StagedFile.Write(Path.Combine(directory, MetadataFile), path => File.WriteAllText(path, JsonSerializer.Serialize(this, Json)));
    }

    /// <summary>Reads what a checkpoint holds without loading its weights.</summary>
    public static Checkpoint Peek(string directory)
    {
        var metadata = Path.Combine(directory, MetadataFile);
        if (!File.Exists(metadata))
            throw new FileNotFoundException($"--resume: '{directory}' holds no {MetadataFile}; pass a folder written by --out.", metadata);
        return JsonSerializer.Deserialize<Checkpoint>(File.ReadAllText(metadata), Json)
            ?? throw new InvalidDataException($"'{metadata}' is empty.");
    }

    public static (Checkpoint Checkpoint, nn.Module<Tensor, Tensor> Model) Load(string directory)
    {
        var checkpoint = Peek(directory);
        var model = ModelFactory.Create(checkpoint.Connection, checkpoint.Shape, checkpoint.Convention);
        model.load(Path.Combine(directory, WeightsFile));
        return (checkpoint, model);
    }
}
