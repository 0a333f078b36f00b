using System.ComponentModel.DataAnnotations;
using McMaster.Extensions.CommandLineUtils;
using Mhc.Tool.Conversion;
using Mhc.Tool.Loading;
using Mhc.Tool.Reporting;

namespace Mhc.Tool.Commands;

/// <summary>The command line of <c>convert</c>: options in, a <see cref="ConvertRequest"/> to the workflow, its outcome to the reporter.</summary>
[Command("convert", Description = "Converts every convertible residual connection (x + F(x)) of the TorchSharp models in a project or solution to an mHC connection, adds the Mhc references the project needs and a package source where restore finds them, then checks that the project restores.",
    ExtendedHelpText = ExitCodeHelp)]
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

    [Option("--package-source <SOURCE>", "A folder or feed URL where restore finds the Mhc.Runtime and Mhc.Analyzers packages the conversion references: added as a package source to the nuget.config that governs each such project (the nearest one in its folder or above, else a new one beside the input). Default: the packages that come with the tool, copied into mhc-packages/ beside that nuget.config.", CommandOptionType.SingleValue)]
    public string? PackageSource { get; set; }

    [Option("--no-package-source", "Leave nuget.config alone: restore must already find the Mhc packages.", CommandOptionType.NoValue)]
    public bool NoPackageSource { get; set; }

    private const string ExitCodeHelp = """

        Exit codes:
          0  done
          1  unexpected error (a bug: please report it)
          2  --verify-no-changes: the conversion would change files
          3  no .NET SDK found
          4  bad path, option or command
          5  the input does not restore, load or build (nothing was changed)
          6  no TorchSharp module in the input
          7  a file could not be written (nothing was)
          8  the conversion was written, but the converted project does not restore: the message says what to run
        """;

    protected override async Task<int> ExecuteAsync(IConsole console, IProgressReporter progress, CancellationToken cancellationToken)
    {
        var outcome = await ConvertWorkflow.RunAsync(ToRequest(), progress, cancellationToken).ConfigureAwait(false);
        if (DryRun) ConvertReporter.PrintDiff(console, outcome);
        ConvertReporter.PrintSummary(console, outcome);
        ConvertReporter.PrintRestoreProblem(console, outcome);
        if (Report is not null) ConvertReporter.WriteReport(Report, outcome);
        return outcome.ExitCode;
    }

    private ConvertRequest ToRequest() => new(
        Path, Include, Exclude, Restore: !NoRestore, Streams, Iterations,
        Write: !DryRun && !VerifyNoChanges, FailOnChanges: VerifyNoChanges, PackageSource, NoPackageSource, Analysis);
}
