using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.MSBuild;

namespace Mhc.Tool.Loading;

/// <summary>
/// The input opened in a workspace, with the C# projects that hold TorchSharp modules: what every command
/// over a project works on. Disposing it closes the workspace.
/// </summary>
internal sealed class LoadedInput(InputPath input, MSBuildWorkspace workspace, Solution solution, IReadOnlyList<ProjectId> projects) : IDisposable
{
    public InputPath Input { get; } = input;

    public Solution Solution { get; } = solution;

    /// <summary>The projects the command works on: the input's C# projects that define a TorchSharp module.</summary>
    public IReadOnlyList<ProjectId> Projects { get; } = projects;

    /// <summary>The input's folder: globs and printed paths are relative to it.</summary>
    public string Root => Path.GetDirectoryName(Input.FullPath)!;

    /// <param name="options">Analyzer options from the command line, added to the projects in memory.</param>
    public static async Task<LoadedInput> LoadAsync(InputPath input, bool restore, Conversion.AnalysisOptions options, IProgressReporter progress, CancellationToken cancellationToken)
    {
        var (workspace, solution) = await WorkspaceLoader.LoadAsync(input, restore, progress, cancellationToken).ConfigureAwait(false);
        try
        {
            var projects = new List<ProjectId>();
            // A project given alone is converted alone: the projects it references are loaded only
            // so that it compiles.
            // A multi-targeted project loads once per target framework; its sources are the same, so
            // one of them is converted (several would count and edit every site once per target).
            var candidates = solution.Projects
                .Where(p => p.Language == LanguageNames.CSharp
                    && (input.IsSolution || string.Equals(p.FilePath, input.FullPath, StringComparison.Ordinal)))
                .GroupBy(p => p.FilePath ?? p.Name, StringComparer.Ordinal)
                .Select(g => g.First());
            foreach (var project in candidates)
                if (await Conversion.MhcRules.HasTorchSharpModulesAsync(project, cancellationToken).ConfigureAwait(false))
                    projects.Add(project.Id);
            if (projects.Count == 0)
                throw new ToolException(ExitCodes.NothingToConvert,
                    $"no TorchSharp module (a class deriving from torch.nn.Module) was found in '{input.FullPath}'. Nothing to do.");
            return new LoadedInput(input, workspace, options.ApplyTo(solution, projects), projects);
        }
        catch
        {
            workspace.Dispose();
            throw;
        }
    }

    public void Dispose() => workspace.Dispose();
}
