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
        StagedFile.Write(Path.Combine(directory, RunSummary.FileName), path => File.WriteAllText(path, RunSummary.Markdown(title, runs, plots)));
        return plots.Append(RunSummary.FileName).ToList();
    }
}
