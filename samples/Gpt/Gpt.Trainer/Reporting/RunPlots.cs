using Gpt.Trainer.Training;
using ScottPlot;

namespace Gpt.Trainer.Reporting;

/// <summary>
/// The PNG plots of a set of runs: loss curves, composite Amax gain against step on a log axis, and a
/// layers × steps heat map of the composite gain. Runs with different learning rates get separate panels
/// side by side; colours stand for the connection kind, so seeds of one kind share a colour.
/// </summary>
public static class RunPlots
{
    public const string LossFile = "loss.png", AmaxFile = "amax.png", HeatMapFile = "heatmap.png";

    private const int PanelWidth = 640, PanelHeight = 460;

    public static Color ColorOf(Connection connection) => connection switch
    {
        Connection.Residual => Colors.Gray,
        Connection.Hc => Colors.OrangeRed,
        _ => Colors.RoyalBlue,
    };

    public static string NameOf(Connection connection) => connection switch
    {
        Connection.Residual => "residual",
        Connection.Hc => "HC",
        _ => "mHC",
    };

    /// <summary>Writes every plot the runs have data for into <paramref name="directory"/>; returns the file names written.</summary>
    public static IReadOnlyList<string> WriteAll(IReadOnlyList<RunRecord> runs, string directory)
    {
        var written = new List<string>();
        Save(LossCurves(runs), Path.Combine(directory, LossFile), written);
        if (runs.Any(r => r.Probes.Any()))
        {
            Save(CompositeGains(runs), Path.Combine(directory, AmaxFile), written);
            Save(HeatMaps(runs), Path.Combine(directory, HeatMapFile), written);
        }
        else
        {
            // Runs without hyper-connections have no gains: plots of an earlier run in this folder would mislead.
            File.Delete(Path.Combine(directory, AmaxFile));
            File.Delete(Path.Combine(directory, HeatMapFile));
        }
        return written;
    }

    private static void Save((IMultiplot Plot, int Width, int Height) figure, string path, List<string> written)
    {
        // Staged, so a failed render leaves no half-written image.
        StagedFile.Write(path, staging => figure.Plot.SavePng(staging, figure.Width, figure.Height));
        written.Add(Path.GetFileName(path));
    }

    public static (IMultiplot, int, int) LossCurves(IReadOnlyList<RunRecord> runs)
    {
        var groups = ByLearningRate(runs);
        var figure = Panels(groups.Count);
        foreach (var (group, plot) in groups.Zip(figure.GetPlots()))
        {
            bool showTraining = group.Runs.Count <= 3;
            foreach (var (run, first) in FirstOfEachConnection(group.Runs))
            {
                var evaluations = run.Evaluations.ToArray();
                var validation = Line(plot, evaluations.Select(p => (double)p.Step), evaluations.Select(p => p.ValidationLoss), ColorOf(run.Manifest.Connection));
                if (first) validation.LegendText = NameOf(run.Manifest.Connection) + (showTraining ? " held-out" : "");
                if (showTraining)
                {
                    var training = Line(plot, run.History.Select(p => (double)p.Step), run.History.Select(p => p.TrainLoss), ColorOf(run.Manifest.Connection));
                    training.LinePattern = LinePattern.Dashed;
                    training.LineWidth = 1;
                    if (first) training.LegendText = NameOf(run.Manifest.Connection) + " training";
                }
            }
            plot.Title($"{(showTraining ? "Loss" : "Held-out loss")}, {group.Title}");
            plot.XLabel("step");
            plot.YLabel("cross-entropy (nats/char)");
            plot.ShowLegend(Alignment.UpperRight);
        }
        return (figure, PanelWidth * groups.Count, PanelHeight);
    }

    public static (IMultiplot, int, int) CompositeGains(IReadOnlyList<RunRecord> runs)
    {
        var groups = ByLearningRate(runs.Where(r => r.Probes.Any()).ToList());
        var figure = Panels(groups.Count);
        double top = Math.Max(1, runs.Max(r => r.PeakCompositeGain ?? 1));
        foreach (var (group, plot) in groups.Zip(figure.GetPlots()))
        {
            foreach (var (run, first) in FirstOfEachConnection(group.Runs))
            {
                var probes = run.Probes.ToArray();
                var line = Line(plot, probes.Select(p => (double)p.Step), probes.Select(p => Math.Log10(p.Gains!.MaxCompositeGain)), ColorOf(run.Manifest.Connection));
                if (first) line.LegendText = NameOf(run.Manifest.Connection);
            }
            var one = plot.Add.HorizontalLine(0);
            one.Color = Colors.Black.WithAlpha(0.4);
            one.LinePattern = LinePattern.Dotted;
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                IntegerTicksOnly = true,
                LabelFormatter = y => Math.Pow(10, y).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
            };
            // One decade at least, and the same range in every panel, so runs compare at a glance.
            plot.Axes.SetLimitsY(Math.Log10(0.5), Math.Max(1, Math.Log10(top) * 1.1));
            plot.Title($"Composite Amax gain (max over layers), {group.Title}");
            plot.XLabel("step");
            plot.YLabel("gain (log scale)");
            plot.ShowLegend(Alignment.UpperLeft);
        }
        return (figure, PanelWidth * groups.Count, PanelHeight);
    }

    public static (IMultiplot, int, int) HeatMaps(IReadOnlyList<RunRecord> runs)
    {
        // One run per connection kind and learning rate (the lowest seed): seeds look alike and would crowd the grid.
        var shown = runs.Where(r => r.Probes.Any())
            .GroupBy(r => (r.Manifest.Connection, r.Manifest.LearningRate))
            .Select(g => g.OrderBy(r => r.Manifest.Seed).First())
            .OrderBy(r => r.Manifest.LearningRate).ThenBy(r => r.Manifest.Connection)
            .ToList();
        double top = Math.Max(0.05, shown.Max(r => Math.Log10(r.PeakCompositeGain ?? 1)));
        var figure = Panels(shown.Count);
        foreach (var (run, plot) in shown.Zip(figure.GetPlots()))
        {
            var probes = run.Probes.ToArray();
            int layers = probes.Max(p => p.Gains!.Connections.Count);
            var intensities = new double[layers, probes.Length];
            for (int s = 0; s < probes.Length; s++)
            for (int l = 0; l < layers; l++)
            {
                var c = probes[s].Gains!.Connections.ElementAtOrDefault(l);
                intensities[l, s] = c is null ? double.NaN : Math.Log10(Math.Max(c.CompositeForward.Max, c.CompositeBackward.Max));
            }
            var map = plot.Add.Heatmap(intensities);
            map.Colormap = new ScottPlot.Colormaps.Viridis();
            map.ManualRange = new ScottPlot.Range(0, top);
            map.FlipVertically = true; // connection 0 (the one that sees the embeddings) at the bottom
            if (probes.Length > 1 && layers > 1)
                map.Extent = new CoordinateRect(probes[0].Step, probes[^1].Step, 0, layers - 1); // centres of the corner cells
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
            var bar = plot.Add.ColorBar(map);
            bar.Label = "log10 composite gain";
            plot.Title($"{NameOf(run.Manifest.Connection)}, lr {run.Manifest.LearningRate:G3}, seed {run.Manifest.Seed}");
            plot.XLabel("step");
            plot.YLabel("connection (execution order)");
        }
        return (figure, PanelWidth * Math.Min(shown.Count, 2), PanelHeight * ((shown.Count + 1) / 2));
    }

    private sealed record RateGroup(double LearningRate, string Title, IReadOnlyList<RunRecord> Runs);

    private static List<RateGroup> ByLearningRate(IReadOnlyList<RunRecord> runs)
    {
        var rates = runs.Select(r => r.Manifest.LearningRate).Distinct().Order().ToList();
        return rates.Select(rate => new RateGroup(rate,
                rates.Count > 1 && rate != rates[0] ? $"lr {rate:G3} ({rate / rates[0]:G3}× stress)" : $"lr {rate:G3}",
                runs.Where(r => r.Manifest.LearningRate == rate).ToList()))
            .ToList();
    }

    /// <summary>Each run, flagged when it is the first of its connection kind (the one that carries the legend entry).</summary>
    private static IEnumerable<(RunRecord Run, bool First)> FirstOfEachConnection(IEnumerable<RunRecord> runs)
    {
        var seen = new HashSet<Connection>();
        foreach (var run in runs.OrderBy(r => r.Manifest.Connection).ThenBy(r => r.Manifest.Seed))
            yield return (run, seen.Add(run.Manifest.Connection));
    }

    private static ScottPlot.Plottables.Scatter Line(Plot plot, IEnumerable<double> xs, IEnumerable<double> ys, Color color)
    {
        var line = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
        line.Color = color;
        line.LineWidth = 1.5f;
        line.MarkerSize = 0;
        return line;
    }

    private static IMultiplot Panels(int count)
    {
        IMultiplot figure = new Multiplot();
        figure.AddPlots(Math.Max(1, count));
        figure.Layout = count <= 2 ? new ScottPlot.MultiplotLayouts.Columns() : new ScottPlot.MultiplotLayouts.Grid((count + 1) / 2, 2);
        return figure;
    }
}
