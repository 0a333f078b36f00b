using McMaster.Extensions.CommandLineUtils;
using Microsoft.CodeAnalysis;
using Mhc.Tool.Conversion;
using Mhc.Tool.Loading;

namespace Mhc.Tool.Commands;

/// <summary>What every command over a project shares: the input, restore, file filters, progress and error handling.</summary>
internal abstract class ProjectCommand
{
    [Argument(0, "path", "A C# project (.csproj), a solution (.sln, .slnx), or a folder holding exactly one.")]
    public string Path { get; set; } = "";

    [Option("--include <GLOB>", "Only sites in files matching this glob (relative to the project or solution folder). Repeatable.", CommandOptionType.MultipleValue)]
    public string[] Include { get; set; } = [];

    [Option("--exclude <GLOB>", "Skip sites in files matching this glob. Repeatable.", CommandOptionType.MultipleValue)]
    public string[] Exclude { get; set; } = [];

    [Option("--no-restore", "Do not run 'dotnet restore' first (the input must already be restored).", CommandOptionType.NoValue)]
    public bool NoRestore { get; set; }

    [Option("-q|--quiet", "Do not print progress.", CommandOptionType.NoValue)]
    public bool Quiet { get; set; }

    public async Task<int> OnExecuteAsync(IConsole console)
    {
        // McMaster 2.3 passes no cancellation token. Everything before the final write only reads, and
        // the write itself replaces files one rename at a time after all new texts are on disk.
        var cancellationToken = CancellationToken.None;
        try
        {
            var input = InputPath.Resolve(Path);
            var progress = new ConsoleProgress(console, Quiet);
            var (workspace, solution) = await WorkspaceLoader.LoadAsync(input, !NoRestore, progress, cancellationToken).ConfigureAwait(false);
            using (workspace)
            {
                var rules = MhcRules.Load();
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
                    if (await MhcRules.HasTorchSharpModulesAsync(project, cancellationToken).ConfigureAwait(false))
                        projects.Add(project.Id);
                if (projects.Count == 0)
                    throw new ToolException(ExitCodes.NothingToConvert,
                        $"no TorchSharp module (a class deriving from torch.nn.Module) was found in '{input.FullPath}'. Nothing to do.");
                var root = System.IO.Path.GetDirectoryName(input.FullPath)!;
                return await RunAsync(console, solution, projects, rules, new SiteFilter(root, Include, Exclude), root, progress, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ToolException e)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            console.Error.WriteLine($"error: unexpected failure, please report it: {e}");
            return ExitCodes.UnexpectedError;
        }
    }

    protected abstract Task<int> RunAsync(IConsole console, Solution solution, IReadOnlyList<ProjectId> projects, MhcRules rules,
        SiteFilter filter, string root, IProgressReporter progress, CancellationToken cancellationToken);
}

/// <summary>Progress on standard error, so standard output stays clean for diffs and summaries.</summary>
internal sealed class ConsoleProgress(IConsole console, bool quiet) : IProgressReporter
{
    public void Status(string message)
    {
        if (!quiet) console.Error.WriteLine($"  {message}…");
    }
}
