using McMaster.Extensions.CommandLineUtils;
using Microsoft.CodeAnalysis;
using Mhc.Tool.Conversion;
using Mhc.Tool.Loading;

namespace Mhc.Tool.Commands;

[Command("check", Description = "Reports residual sites that can be hyper-connected, sites that cannot (and why), and stream-shape errors, without changing anything. Exit code 2 when an error diagnostic (a stream-shape or declaration error) is found.")]
[HelpOption("-h|--help")]
internal sealed class CheckCommand : ProjectCommand
{
    protected override async Task<int> ExecuteAsync(IConsole console, IProgressReporter progress, CancellationToken cancellationToken)
    {
        using var loaded = await LoadAsync(progress, cancellationToken).ConfigureAwait(false);
        var rules = MhcRules.Load();
        var filter = Filter(loaded);
        int errors = 0, total = 0;
        foreach (var project in loaded.Projects.Select(loaded.Solution.GetProject).OfType<Project>())
        {
            progress.Status($"Analysing {project.Name}");
            foreach (var diagnostic in await rules.AnalyzeAsync(project, cancellationToken).ConfigureAwait(false))
            {
                if (!filter.Includes(diagnostic.Location.SourceTree?.FilePath)) continue;
                console.WriteLine(Reporting.DiagnosticFormatter.Format(diagnostic));
                total++;
                if (diagnostic.Severity == DiagnosticSeverity.Error) errors++;
            }
        }
        console.WriteLine(total == 0 ? "No residual sites or stream-shape problems found." : $"{total} diagnostic(s), {errors} error(s).");
        return errors > 0 ? ExitCodes.ChangesOrErrorsFound : ExitCodes.Success;
    }
}
