namespace Mhc.Tool.Conversion;

/// <summary>One <c>convert</c> run as the command line asked for it, free of the command-line library.</summary>
/// <param name="Path">The project, solution or folder as the user typed it.</param>
/// <param name="Streams">MhcStreams to write to the converted projects, or null to leave it.</param>
/// <param name="Iterations">MhcSinkhornIterations to write to the converted projects, or null to leave it.</param>
/// <param name="Write">Write the changed files (false for --dry-run and --verify-no-changes).</param>
/// <param name="FailOnChanges">--verify-no-changes: a change that would be made is a failure (exit code 2).</param>
/// <param name="PackageSource">--package-source: the folder or URL to add to nuget.config for the Mhc packages, or null for the default.</param>
/// <param name="NoPackageSource">--no-package-source: leave every nuget.config alone.</param>
/// <param name="Analysis">--library and --channels: options for the analyzers.</param>
internal sealed record ConvertRequest(
    string Path,
    IReadOnlyList<string> Include,
    IReadOnlyList<string> Exclude,
    bool Restore,
    int? Streams,
    int? Iterations,
    bool Write,
    bool FailOnChanges,
    string? PackageSource = null,
    bool NoPackageSource = false,
    AnalysisOptions? Analysis = null);
