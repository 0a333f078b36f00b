using Microsoft.CodeAnalysis;
using Mhc.Tool.Loading;

namespace Mhc.Tool.Conversion;

/// <summary>What a <c>convert</c> run did: the conversion, the files it changes (or would), and whether they were written.</summary>
/// <param name="Root">The input's folder: printed paths are relative to it.</param>
/// <param name="ProjectEdits">One line per project-file edit, for the summary and the report.</param>
internal sealed record ConvertOutcome(
    ConvertRequest Request,
    string Root,
    ConversionResult Conversion,
    ChangeSet Changes,
    IReadOnlyList<string> ProjectEdits,
    bool Written)
{
    public int ExitCode =>
        Request.FailOnChanges && !Changes.IsEmpty ? ExitCodes.ChangesOrErrorsFound : ExitCodes.Success;
}

/// <summary>
/// The <c>convert</c> workflow, apart from the command line and the console: loads the input, converts
/// it, computes every file it changes as one change set, and writes that set when the request says so.
/// </summary>
internal static class ConvertWorkflow
{
    public static async Task<ConvertOutcome> RunAsync(ConvertRequest request, IProgressReporter progress, CancellationToken cancellationToken)
    {
        using var loaded = await LoadedInput.LoadAsync(InputPath.Resolve(request.Path), request.Restore, progress, cancellationToken).ConfigureAwait(false);
        var filter = new SiteFilter(loaded.Root, request.Include, request.Exclude);
        var result = await new SolutionConverter(MhcRules.Load(), filter, progress)
            .ConvertAsync(loaded.Solution, loaded.Projects, cancellationToken).ConfigureAwait(false);

        var changes = await ChangedDocumentsAsync(result, cancellationToken).ConfigureAwait(false);
        var projectEdits = new List<string>();
        changes.AddRange(ProjectFileChanges(request, result, loaded.Projects, projectEdits));

        var changeSet = new ChangeSet(changes);
        if (request.Write && !changeSet.IsEmpty)
        {
            progress.Status($"Writing {changeSet.Changes.Count} file(s)");
            changeSet.Commit();
        }
        return new ConvertOutcome(request, loaded.Root, result, changeSet, projectEdits, request.Write);
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
    private static IEnumerable<FileChange> ProjectFileChanges(ConvertRequest request, ConversionResult result, IReadOnlyList<ProjectId> projects, List<string> notes)
    {
        var projectsToEdit = request.Streams is null && request.Iterations is null ? result.ChangedProjects : projects;
        foreach (var project in projectsToEdit.Select(result.Converted.GetProject).OfType<Project>())
            if (project.FilePath is not null
                && ProjectFileEditor.Edit(project.FilePath, request.Streams, request.Iterations, notes, ProjectFileEditor.EffectiveReferences(project)) is { } edit)
                yield return edit;
    }
}
