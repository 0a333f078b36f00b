using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gpt.Trainer.Reporting;

/// <summary>
/// A run on disk: <c>run.json</c> (manifest and training time), <c>log.csv</c> and <c>gains.csv</c>.
/// Written into a sibling folder and renamed into place, so a folder with a run.json is always complete.
/// </summary>
public static class RunFolder
{
    public const string ManifestFile = "run.json", LogFile = "log.csv", GainsFile = "gains.csv";

    private const string StagingSuffix = ".partial";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    private sealed record Stored(RunManifest Manifest, double TrainingSeconds);

    public static void Write(string directory, RunRecord run)
    {
        var full = Path.GetFullPath(directory);
        var staging = full.TrimEnd(Path.DirectorySeparatorChar) + StagingSuffix;
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        File.WriteAllText(Path.Combine(staging, LogFile), RunLog.LogCsv(run.History));
        File.WriteAllText(Path.Combine(staging, GainsFile), RunLog.GainsCsv(run.History));
        File.WriteAllText(Path.Combine(staging, ManifestFile), JsonSerializer.Serialize(new Stored(run.Manifest, run.TrainingSeconds), Json));
        if (Directory.Exists(full))
        {
            // Only the files a run writes are replaced (a checkpoint saved beside them stays); the manifest
            // goes first and comes back last, so a folder never pairs an old manifest with a new log.
            File.Delete(Path.Combine(full, ManifestFile));
            foreach (var name in new[] { LogFile, GainsFile, ManifestFile })
                File.Move(Path.Combine(staging, name), Path.Combine(full, name), overwrite: true);
            Directory.Delete(staging);
        }
        else
        {
            Directory.Move(staging, full);
        }
    }

    /// <summary>True for the folder a write is staged in (left behind only by an interrupted write).</summary>
    public static bool IsStaging(string directory) => directory.TrimEnd(Path.DirectorySeparatorChar).EndsWith(StagingSuffix, StringComparison.Ordinal);

    /// <summary>
    /// Reads a finished run; false with the reason when the folder holds none or what it holds cannot be
    /// read (written by another version, edited, damaged).
    /// </summary>
    public static bool TryRead(string directory, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RunRecord? run, out string? problem)
    {
        run = null;
        problem = null;
        if (!Exists(directory)) return false;
        try
        {
            run = Read(directory);
            return true;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or FormatException or ArgumentException)
        {
            problem = $"the run in {directory} cannot be read ({e.Message})";
            return false;
        }
    }

    /// <summary>True when <paramref name="directory"/> holds a complete run.</summary>
    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, ManifestFile));

    public static RunRecord Read(string directory)
    {
        var manifestPath = Path.Combine(directory, ManifestFile);
        if (!File.Exists(manifestPath))
            throw new FileNotFoundException($"'{directory}' holds no {ManifestFile}: it is not a finished run folder.", manifestPath);
        var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(manifestPath), Json)
            ?? throw new InvalidDataException($"'{manifestPath}' is empty.");
        var history = RunLog.Parse(File.ReadAllText(Path.Combine(directory, LogFile)), File.ReadAllText(Path.Combine(directory, GainsFile)), directory);
        return new RunRecord(stored.Manifest, history, stored.TrainingSeconds);
    }
}
