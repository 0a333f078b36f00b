using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.MSBuild;

namespace Mhc.Tool.Loading;

/// <summary>Opens the input in an MSBuildWorkspace and insists that every C# project in it compiles.</summary>
internal static class WorkspaceLoader
{
    public static async Task<(MSBuildWorkspace Workspace, Solution Solution)> LoadAsync(
        InputPath input, bool restore, IProgressReporter progress, CancellationToken cancellationToken)
    {
        if (restore)
        {
            progress.Status($"Restoring {Path.GetFileName(input.FullPath)}");
            await Restorer.RestoreAsync(input, cancellationToken).ConfigureAwait(false);
        }

        var workspace = MSBuildWorkspace.Create();
        var failures = new List<string>();
        workspace.RegisterWorkspaceFailedHandler(e =>
        {
            if (e.Diagnostic.Kind == WorkspaceDiagnosticKind.Failure) failures.Add(e.Diagnostic.Message);
        });

        var loadProgress = new Progress<ProjectLoadProgress>(p =>
            progress.Status($"{p.Operation} {Path.GetFileName(p.FilePath)}{(p.TargetFramework is null ? "" : $" ({p.TargetFramework})")}"));
        Solution solution;
        try
        {
            solution = input.IsSolution
                ? await workspace.OpenSolutionAsync(input.FullPath, loadProgress, cancellationToken).ConfigureAwait(false)
                : (await workspace.OpenProjectAsync(input.FullPath, loadProgress, cancellationToken: cancellationToken).ConfigureAwait(false)).Solution;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or ArgumentException)
        {
            workspace.Dispose();
            throw new ToolException(ExitCodes.ProjectLoadFailed, $"'{input.FullPath}' could not be loaded: {e.Message}");
        }

        if (failures.Count > 0)
        {
            workspace.Dispose();
            throw new ToolException(ExitCodes.ProjectLoadFailed,
                $"'{Path.GetFileName(input.FullPath)}' could not be loaded:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", failures.Distinct().Take(10)));
        }

        var broken = new List<string>();
        foreach (var project in solution.Projects.Where(p => p.Language == LanguageNames.CSharp))
        {
            progress.Status($"Compiling {project.Name}");
            var compilation = await project.GetCompilationAsync(cancellationToken).ConfigureAwait(false);
            var errors = compilation?.GetDiagnostics(cancellationToken).Where(d => d.Severity == DiagnosticSeverity.Error).Take(5).ToList() ?? [];
            if (errors.Count > 0)
                broken.Add($"{project.Name} does not build:{Environment.NewLine}    " +
                           string.Join(Environment.NewLine + "    ", errors.Select(Reporting.DiagnosticFormatter.Format)));
        }
        if (broken.Count > 0)
        {
            workspace.Dispose();
            throw new ToolException(ExitCodes.ProjectLoadFailed,
                "nothing was changed because a project does not build; fix it first:" + Environment.NewLine + "  " + string.Join(Environment.NewLine + "  ", broken));
        }
        return (workspace, solution);
    }
}

/// <summary>Where the long-running steps say what they are doing.</summary>
internal interface IProgressReporter
{
    void Status(string message);
}
