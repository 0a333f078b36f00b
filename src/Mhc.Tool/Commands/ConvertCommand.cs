using System.ComponentModel.DataAnnotations;
using McMaster.Extensions.CommandLineUtils;
using Microsoft.CodeAnalysis;
using Mhc.Tool.Conversion;
using Mhc.Tool.Loading;
using Mhc.Tool.Reporting;

namespace Mhc.Tool.Commands;

[Command("convert", Description = "Converts every convertible residual connection (x + F(x)) of the TorchSharp models in a project or solution to an mHC connection, and adds the Mhc references the project needs.")]
[HelpOption("-h|--help")]
internal sealed class ConvertCommand : ProjectCommand
{
    [Option("--streams <N>", "Number of residual streams n; written to the project as MhcStreams (default 4).", CommandOptionType.SingleValue)]
    [Range(2, 64)]
    public int? Streams { get; set; }

    [Option("--iterations <T>", "Sinkhorn-Knopp iterations; written to the project as MhcSinkhornIterations (default 20).", CommandOptionType.SingleValue)]
    [Range(1, 1000)]
    public int? Iterations { get; set; }

    [Option("--dry-run", "Print the changes as a unified diff; write nothing.", CommandOptionType.NoValue)]
    public bool DryRun { get; set; }

    [Option("--verify-no-changes", "Write nothing; exit with code 2 if the conversion would change any file.", CommandOptionType.NoValue)]
    public bool VerifyNoChanges { get; set; }

    [Option("--report <JSON>", "Write a JSON report of converted and skipped sites to this file.", CommandOptionType.SingleValue)]
    public string? Report { get; set; }

    protected override async Task<int> RunAsync(IConsole console, Solution solution, IReadOnlyList<ProjectId> projects, MhcRules rules,
        SiteFilter filter, string root, IProgressReporter progress, CancellationToken cancellationToken)
    {
        var result = await new SolutionConverter(rules, filter, progress).ConvertAsync(solution, projects, cancellationToken).ConfigureAwait(false);

        var changes = new List<FileChange>();
        foreach (var projectChange in result.Converted.GetChanges(result.Original).GetProjectChanges())
            foreach (var id in projectChange.GetChangedDocuments())
            {
                var before = result.Original.GetDocument(id)!;
                var after = result.Converted.GetDocument(id)!;
                var oldText = await before.GetTextAsync(cancellationToken).ConfigureAwait(false);
                var newText = await after.GetTextAsync(cancellationToken).ConfigureAwait(false);
                if (oldText.ContentEquals(newText) || before.FilePath is null) continue;
                changes.Add(new FileChange(before.FilePath, oldText.ToString(), newText.ToString(),
                    oldText.Encoding ?? new System.Text.UTF8Encoding(false)));
            }

        var projectEdits = new List<string>();
        var projectsToEdit = Streams is null && Iterations is null ? result.ChangedProjects : projects;
        foreach (var project in projectsToEdit.Select(result.Converted.GetProject).OfType<Project>())
            if (project.FilePath is not null
                && ProjectFileEditor.Edit(project.FilePath, Streams, Iterations, projectEdits, ProjectFileEditor.EffectiveReferences(project)) is { } edit)
                changes.Add(edit);

        var changeSet = new ChangeSet(changes);
        bool write = !DryRun && !VerifyNoChanges;
        if (DryRun)
            foreach (var change in changeSet.Changes)
                console.Write(UnifiedDiff.Render(change.Path, change.OldText, change.NewText, root));
        if (write && !changeSet.IsEmpty)
        {
            progress.Status($"Writing {changeSet.Changes.Count} file(s)");
            changeSet.Commit();
        }

        PrintSummary(console, result, projectEdits, root, write);
        if (Report is not null)
            new ConversionReport(
            Input: Path,
            DryRun: !write,
            Changed: !changeSet.IsEmpty,
            Files: result.SitesConvertedPerFile.Select(kv => new ConvertedFile(Relative(root, kv.Key), kv.Value)).OrderBy(f => f.Path, StringComparer.Ordinal).ToList(),
            Skipped: result.Skipped.Select(s => new SkippedSiteReport(Relative(root, s.File), s.Line, s.Column, s.Id, s.Reason)).ToList(),
            ProjectEdits: projectEdits).WriteTo(Report);

        return VerifyNoChanges && !changeSet.IsEmpty ? ExitCodes.ChangesOrErrorsFound : ExitCodes.Success;
    }

    private static void PrintSummary(IConsole console, ConversionResult result, IReadOnlyList<string> projectEdits, string root, bool written)
    {
        int sites = result.SitesConvertedPerFile.Values.Sum();
        string verb = written ? "Converted" : "Would convert";
        console.WriteLine(sites == 0
            ? "No convertible residual connection found: nothing to convert."
            : $"{verb} {sites} residual connection(s) in {result.SitesConvertedPerFile.Count} file(s):");
        foreach (var (file, count) in result.SitesConvertedPerFile.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            console.WriteLine($"  {Relative(root, file)}: {count} site(s)");
        if (result.Skipped.Count > 0)
        {
            console.WriteLine($"Skipped {result.Skipped.Count} site(s):");
            foreach (var s in result.Skipped)
                console.WriteLine($"  {Relative(root, s.File)}({s.Line},{s.Column}): {s.Id}: {s.Reason}");
        }
        foreach (var edit in projectEdits)
            console.WriteLine($"{(written ? "" : "Would update ")}{edit}");
    }

    private static string Relative(string root, string path) => System.IO.Path.GetRelativePath(root, path).Replace('\\', '/');
}
