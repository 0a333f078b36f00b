using System.ComponentModel.DataAnnotations;
using Gpt.Trainer.Reporting;
using McMaster.Extensions.CommandLineUtils;

namespace Gpt.Trainer.Experiment;

/// <summary><c>gpt-trainer report</c>: redraws plots and summary from run folders already on disk.</summary>
[Command("report", Description = "Redraws the plots and summary.md from finished run folders (written by --out or by experiment).")]
public sealed class ReportCommand
{
    [Argument(0, "folders", "Run folders, or folders whose runs/ subfolder holds them (e.g. an experiment's --out).")]
    [Required]
    public string[] Folders { get; set; } = [];

    [Option("--out <DIR>", "Where to write the plots and summary.md (default: the first folder).", CommandOptionType.SingleValue)]
    public string? Out { get; set; }

    [Option("--title <TEXT>", "Title of summary.md.", CommandOptionType.SingleValue)]
    public string Title { get; set; } = "Training runs";

    public int OnExecute(IConsole console)
    {
        try
        {
            var runs = Folders.SelectMany(Expand).Select(RunFolder.Read).ToList();
            var target = Out ?? Folders[0];
            var files = RunReport.Write(target, Title, runs);
            console.WriteLine($"{runs.Count} runs: wrote {string.Join(", ", files)} in {target}");
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException or System.Text.Json.JsonException or FormatException)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    private static IEnumerable<string> Expand(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"'{folder}' does not exist.");
        if (RunFolder.Exists(folder)) return [folder];
        var nested = Path.Combine(folder, ExperimentCommand.RunsFolder);
        var runs = Directory.Exists(nested) ? Directory.GetDirectories(nested).Where(d => !RunFolder.IsStaging(d) && RunFolder.Exists(d)).Order().ToList() : [];
        return runs.Count > 0 ? runs
            : throw new FileNotFoundException($"'{folder}' is neither a run folder (no {RunFolder.ManifestFile}) nor holds finished runs under {ExperimentCommand.RunsFolder}/.");
    }
}
