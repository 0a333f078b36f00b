namespace Gpt.Trainer.Reporting;

/// <summary>Plots and summary of a set of runs, written into one folder.</summary>
public static class RunReport
{
    /// <summary>Writes the plots and <c>summary.md</c>; returns the names of the files written.</summary>
    public static IReadOnlyList<string> Write(string directory, string title, IReadOnlyList<RunRecord> runs)
    {
        if (runs.Count == 0)
            throw new ArgumentException("There are no finished runs to report on.", nameof(runs));
        Directory.CreateDirectory(directory);
        var plots = RunPlots.WriteAll(runs, directory);
        var summary = Path.Combine(directory, RunSummary.FileName);
        File.WriteAllText(summary + ".partial", RunSummary.Markdown(title, runs, plots));
        File.Move(summary + ".partial", summary, overwrite: true);
        return plots.Append(RunSummary.FileName).ToList();
    }
}
