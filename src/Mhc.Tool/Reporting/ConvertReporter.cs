using McMaster.Extensions.CommandLineUtils;
using Mhc.Tool.Conversion;

namespace Mhc.Tool.Reporting;

/// <summary>Everything <c>convert</c> tells the user about an outcome: the diff, the summary and the JSON report.</summary>
internal static class ConvertReporter
{
    /// <summary>The unified diff of every change, for --dry-run.</summary>
    public static void PrintDiff(IConsole console, ConvertOutcome outcome)
    {
        foreach (var change in outcome.Changes.Changes)
            console.Write(UnifiedDiff.Render(change, outcome.Root));
    }

    public static void PrintSummary(IConsole console, ConvertOutcome outcome)
    {
        var result = outcome.Conversion;
        int sites = result.SitesConvertedPerFile.Values.Sum();
        string verb = outcome.Written ? "Converted" : "Would convert";
        console.WriteLine(sites == 0
            ? "No convertible residual connection found: nothing to convert."
            : $"{verb} {sites} residual connection(s) in {result.SitesConvertedPerFile.Count} file(s):");
        foreach (var (file, count) in result.SitesConvertedPerFile.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            console.WriteLine($"  {Relative(outcome.Root, file)}: {count} site(s)");
        if (result.Skipped.Count > 0)
        {
            console.WriteLine($"Skipped {result.Skipped.Count} site(s):");
            foreach (var s in result.Skipped)
                console.WriteLine($"  {Relative(outcome.Root, s.File)}({s.Line},{s.Column}): {s.Id}: {s.Reason}");
        }
        foreach (var edit in outcome.ProjectEdits)
            console.WriteLine($"{(outcome.Written ? "" : "Would update ")}{edit}");
    }

    /// <summary>Why the written conversion does not restore, and what to run; on standard error, like every error.</summary>
    public static void PrintRestoreProblem(IConsole console, ConvertOutcome outcome)
    {
        if (outcome.RestoreProblem is not { } problem) return;
        var error = console.Error;
        error.WriteLine($"error: the converted files were written, but {problem.Input} does not restore:");
        foreach (var line in problem.Errors)
            error.WriteLine($"  {line}");
        if (problem.Fixes.Count == 0) return;
        error.WriteLine(problem.Fixes.Count == 1 ? "To fix it:" : "To fix it, each of:");
        foreach (var fix in problem.Fixes)
            error.WriteLine($"  {fix}");
    }

    /// <summary>The machine-readable summary (--report).</summary>
    public static void WriteReport(string path, ConvertOutcome outcome)
    {
        var result = outcome.Conversion;
        new ConversionReport(
            Input: outcome.Request.Path,
            DryRun: !outcome.Written,
            Changed: !outcome.Changes.IsEmpty,
            Files: result.SitesConvertedPerFile.Select(kv => new ConvertedFile(Relative(outcome.Root, kv.Key), kv.Value)).OrderBy(f => f.Path, StringComparer.Ordinal).ToList(),
            Skipped: result.Skipped.Select(s => new SkippedSiteReport(Relative(outcome.Root, s.File), s.Line, s.Column, s.Id, s.Reason)).ToList(),
            ProjectEdits: outcome.ProjectEdits).WriteTo(path);
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
