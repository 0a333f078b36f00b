using Microsoft.CodeAnalysis;
using Mhc.Tool.Loading;
using Mhc.Tool.PackageSources;

namespace Mhc.Tool.Conversion;

/// <summary>What a <c>convert</c> run did: the conversion, the files it changes (or would), and whether they were written.</summary>
/// <param name="Root">The input's folder: printed paths are relative to it.</param>
/// <param name="ProjectEdits">One line per edit besides the sources (project files, nuget.config, copied packages), for the summary and the report.</param>
/// <param name="RestoreProblem">Set when the written conversion added package references and the input then did not restore.</param>
internal sealed record ConvertOutcome(
    ConvertRequest Request,
    string Root,
    ConversionResult Conversion,
    ChangeSet Changes,
    IReadOnlyList<string> ProjectEdits,
    bool Written,
    RestoreProblem? RestoreProblem)
{
    public int ExitCode =>
        Request.FailOnChanges && !Changes.IsEmpty ? ExitCodes.ChangesOrErrorsFound
        : RestoreProblem is not null ? ExitCodes.WrittenButDoesNotRestore
        : ExitCodes.Success;
}

/// <summary>
/// The <c>convert</c> workflow, apart from the command line and the console: loads the input, converts
/// it, computes every file it changes as one change set (sources, project files, and the nuget.config
/// that lets added package references restore), writes that set when the request says so, and then
/// checks that the converted input restores.
/// </summary>
internal static class ConvertWorkflow
{
    public static async Task<ConvertOutcome> RunAsync(ConvertRequest request, IProgressReporter progress, CancellationToken cancellationToken)
    {
        var sourceChoice = PackageSourceChoice.From(request.PackageSource, request.NoPackageSource);
        using var loaded = await LoadedInput.LoadAsync(InputPath.Resolve(request.Path), request.Restore, request.Analysis ?? AnalysisOptions.None, progress, cancellationToken).ConfigureAwait(false);
        var filter = new SiteFilter(loaded.Root, request.Include, request.Exclude);
        var result = await new SolutionConverter(MhcRules.Load(), filter, progress)
            .ConvertAsync(loaded.Solution, loaded.Projects, cancellationToken).ConfigureAwait(false);

        var changes = await ChangedDocumentsAsync(result, cancellationToken).ConfigureAwait(false);
        var projectFiles = ProjectFileEdits(request, result, loaded.Projects).ToList();
        changes.AddRange(projectFiles.Select(e => e.Change).OfType<FileChange>());
        var notes = projectFiles.SelectMany(e => e.Notes).ToList();

        // Only projects that now reference Mhc packages need a source for them; one converted with its
        // references already in place keeps the configuration it has.
        var needPackages = projectFiles.Where(e => e.AddedPackages.Count > 0).Select(e => e.ProjectPath).ToList();
        var bundled = needPackages.Count > 0 ? BundledPackages.Find() : null;
        var sources = needPackages.Count > 0 ? PackageSourceSetup.Plan(needPackages, loaded.Root, sourceChoice, bundled) : null;
        if (sources is not null)
        {
            changes.AddRange(sources.Changes);
            notes.AddRange(sources.Notes);
        }

        var changeSet = new ChangeSet(changes);
        if (request.Write && !changeSet.IsEmpty)
        {
            progress.Status($"Writing {changeSet.Changes.Count} file(s)");
            changeSet.Commit();
        }

        RestoreProblem? restoreProblem = null;
        if (request.Write && request.Restore && sources is not null)
        {
            progress.Status($"Checking that {Path.GetFileName(loaded.Input.FullPath)} restores");
            restoreProblem = await RestoreCheck.RunAsync(loaded.Input, sources, bundled, cancellationToken).ConfigureAwait(false);
        }
        return new ConvertOutcome(request, loaded.Root, result, changeSet, notes, request.Write, restoreProblem);
    }

    /// <summary>The source files the conversion changed, with their old and new texts.</summary>
    private static async Task<List<FileChange>> ChangedDocumentsAsync(ConversionResult result, CancellationToken cancellationToken)
    {
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
        return changes;
    }

    /// <summary>
    /// The Mhc references for every project the conversion changed, and the stream and iteration
    /// properties, when the user set them, for every project converted (even one with nothing left to convert).
    /// </summary>
    private static IEnumerable<ProjectFileEdit> ProjectFileEdits(ConvertRequest request, ConversionResult result, IReadOnlyList<ProjectId> projects)
    {
        var projectsToEdit = request.Streams is null && request.Iterations is null ? result.ChangedProjects : projects;
        foreach (var project in projectsToEdit.Select(result.Converted.GetProject).OfType<Project>())
            if (project.FilePath is not null)
                yield return ProjectFileEditor.Edit(project.FilePath, request.Streams, request.Iterations, ProjectFileEditor.EffectiveReferences(project));
    }
}
