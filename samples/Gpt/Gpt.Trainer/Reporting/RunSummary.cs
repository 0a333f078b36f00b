using System.Globalization;
using System.Text;
using Gpt.Trainer.Training;

namespace Gpt.Trainer.Reporting;

/// <summary>The markdown summary of a set of runs: one table row per run, then means over seeds, then the plots.</summary>
public static class RunSummary
{
    public const string FileName = "summary.md";

    public static string Markdown(string title, IReadOnlyList<RunRecord> runs, IReadOnlyList<string> plots)
    {
        var first = runs[0].Manifest;
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# {title}\n\n");
        md.Append(CultureInfo.InvariantCulture,
            $"Data: {first.Data}. GPT: {first.Shape.Layers} layers, width {first.Shape.Width}, {first.Shape.Heads} heads, context {first.Shape.Context}, " +
            $"vocabulary {first.Shape.Vocabulary}; batch {first.Batch}, {first.StepRange} of AdamW.");
        if (runs.Any(r => r.Manifest.Connection != Connection.Residual))
            md.Append(CultureInfo.InvariantCulture, $" HC and mHC use {runs.Max(r => r.Manifest.Streams)} streams.");
        md.Append("\n\n");
        if (runs.Any(r => r.Manifest.Shape != first.Shape || r.Manifest.Steps != first.Steps || r.Manifest.StepsBefore != first.StepsBefore || r.Manifest.Batch != first.Batch || r.Manifest.Data != first.Data))
            md.Append("Note: the runs differ in shape, length, batch or data; compare them with care.\n\n");

        md.Append("| run | connection | seed | lr | final training loss | final held-out loss | best held-out loss | peak composite Amax | final composite Amax | peak single-layer Amax | layer 0 peak composite fwd / bwd | tokens/s |\n");
        md.Append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var run in Ordered(runs))
        {
            var m = run.Manifest;
            var final = run.FinalEvaluation;
            var lastProbe = run.Probes.LastOrDefault();
            var layer0 = run.Probes.Select(p => p.Gains!.Connections[0]).ToList();
            md.Append(CultureInfo.InvariantCulture,
                $"| {m.Label} | {RunPlots.NameOf(m.Connection)} | {m.Seed} | {m.LearningRate:G3} | {F(run.History.LastOrDefault()?.TrainLoss)} | {F(final?.ValidationLoss)} | " +
                $"{F(run.Evaluations.Select(p => (double?)p.ValidationLoss).Min())} | {G(run.PeakCompositeGain)} | {G(lastProbe?.Gains!.MaxCompositeGain)} | {G(run.PeakSingleLayerGain)} | " +
                $"{(layer0.Count == 0 ? "–" : $"{G(layer0.Max(c => c.CompositeForward.Max))} / {G(layer0.Max(c => c.CompositeBackward.Max))}")} | {run.TokensPerSecond:N0} |\n");
        }

        var groups = Ordered(runs).GroupBy(r => (r.Manifest.Connection, r.Manifest.LearningRate)).ToList();
        if (groups.Any(g => g.Count() > 1))
        {
            md.Append("\n## Over seeds\n\n| connection | lr | runs | final held-out loss (mean ± sd) | peak composite Amax (min – max) | tokens/s (mean) |\n|---|---:|---:|---:|---:|---:|\n");
            foreach (var g in groups)
            {
                var losses = g.Select(r => r.FinalEvaluation?.ValidationLoss ?? double.NaN).ToList();
                var peaks = g.Select(r => r.PeakCompositeGain).OfType<double>().ToList();
                md.Append(CultureInfo.InvariantCulture,
                    $"| {RunPlots.NameOf(g.Key.Connection)} | {g.Key.LearningRate:G3} | {g.Count()} | {losses.Average():0.0000}{(losses.Count > 1 ? $" ± {StandardDeviation(losses):0.0000}" : "")} | " +
                    $"{(peaks.Count == 0 ? "–" : $"{G(peaks.Min())} – {G(peaks.Max())}")} | {g.Average(r => r.TokensPerSecond):N0} |\n");
            }
        }

        md.Append("\nAmax gains (MHC-SPEC §6) are measured on a fixed held-out batch: single-layer is one connection's H_res, " +
                  "composite the product of every H_res up to that connection in execution order; forward = largest absolute row sum, " +
                  "backward = largest absolute column sum, maximum over tokens. Connection 0 is the first one, whose mixing sees the raw embeddings.\n");
        if (plots.Count > 0)
        {
            md.Append('\n');
            foreach (var plot in plots)
                md.Append(CultureInfo.InvariantCulture, $"![{Path.GetFileNameWithoutExtension(plot)}]({plot})\n\n");
        }
        return md.ToString();
    }

    private static IEnumerable<RunRecord> Ordered(IEnumerable<RunRecord> runs) =>
        runs.OrderBy(r => r.Manifest.LearningRate).ThenBy(r => r.Manifest.Connection).ThenBy(r => r.Manifest.Seed);

    private static double StandardDeviation(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return 0;
        double mean = values.Average();
        return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
    }

    private static string F(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "–";

    private static string G(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("0.000###", CultureInfo.InvariantCulture) : "–";
}
