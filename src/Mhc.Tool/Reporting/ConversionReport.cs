using System.Text.Json;
using System.Text.Json.Serialization;

namespace Mhc.Tool.Reporting;

/// <summary>The machine-readable summary written by <c>--report</c>.</summary>
internal sealed record ConversionReport(
    string Input,
    bool DryRun,
    bool Changed,
    IReadOnlyList<ConvertedFile> Files,
    IReadOnlyList<SkippedSiteReport> Skipped,
    IReadOnlyList<string> ProjectEdits)
{
    private static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public void WriteTo(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        File.WriteAllText(path, JsonSerializer.Serialize(this, Options));
    }
}

internal sealed record ConvertedFile(string Path, int SitesConverted);

internal sealed record SkippedSiteReport(string Path, int Line, int Column, string Id, string Reason);
