using System.Globalization;
using System.Text;
using Gpt.Trainer.Training;
using Mhc.Runtime;
using Mhc.Runtime.Monitoring;

namespace Gpt.Trainer.Reporting;

/// <summary>
/// A run's history as two CSV files: <c>log.csv</c>, one row per evaluation point with the headline
/// figures, and <c>gains.csv</c>, one row per probed connection with every gain the probe measured.
/// Reading them back restores the history, so reports can be redrawn from the files alone.
/// </summary>
public static class RunLog
{
    public const string LogHeader = "step,train_loss,val_loss,tokens_per_second,composite_gain_max,layer0_composite_fwd_max,layer0_composite_bwd_max";

    public const string GainsHeader = "step,order,name,layer,kind,fwd_mean,fwd_max,bwd_mean,bwd_max," +
                                      "composite_fwd_mean,composite_fwd_max,composite_bwd_mean,composite_bwd_max,column_error";

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string LogCsv(IEnumerable<EvaluationPoint> history)
    {
        var csv = new StringBuilder(LogHeader).Append('\n');
        foreach (var p in history)
        {
            var first = p.Gains?.Connections.FirstOrDefault();
            csv.AppendJoin(',', p.Step.ToString(Invariant), Number(p.TrainLoss), Number(p.ValidationLoss), p.TokensPerSecond.ToString("0.0", Invariant),
                    Number(p.Gains?.MaxCompositeGain), Number(first?.CompositeForward.Max), Number(first?.CompositeBackward.Max))
               .Append('\n');
        }
        return csv.ToString();
    }

    public static string GainsCsv(IEnumerable<EvaluationPoint> history)
    {
        var csv = new StringBuilder(GainsHeader).Append('\n');
        foreach (var p in history)
        foreach (var c in p.Gains?.Connections ?? [])
            csv.AppendJoin(',', p.Step.ToString(Invariant), c.Order.ToString(Invariant), c.Name, c.LayerIndex.ToString(Invariant), c.Kind.ToString(),
                    Number(c.Forward.Mean), Number(c.Forward.Max), Number(c.Backward.Mean), Number(c.Backward.Max),
                    Number(c.CompositeForward.Mean), Number(c.CompositeForward.Max), Number(c.CompositeBackward.Mean), Number(c.CompositeBackward.Max),
                    Number(c.MaxColumnError))
               .Append('\n');
        return csv.ToString();
    }

    /// <summary>Rebuilds the history written by <see cref="LogCsv"/> and <see cref="GainsCsv"/>.</summary>
    public static List<EvaluationPoint> Parse(string logCsv, string gainsCsv, string source)
    {
        var gains = Rows(gainsCsv, GainsHeader, source + "/gains.csv")
            .Select(f => (Step: int.Parse(f[0], Invariant), Gains: new ConnectionGains(
                int.Parse(f[1], Invariant), f[2], int.Parse(f[3], Invariant), Enum.Parse<ConnectionKind>(f[4]),
                new GainStatistic(Parse(f[5]), Parse(f[6])), new GainStatistic(Parse(f[7]), Parse(f[8])),
                new GainStatistic(Parse(f[9]), Parse(f[10])), new GainStatistic(Parse(f[11]), Parse(f[12])), Parse(f[13]))))
            .GroupBy(g => g.Step)
            .ToDictionary(g => g.Key, g => new AmaxReport(g.Select(x => x.Gains).OrderBy(x => x.Order).ToList()));
        return Rows(logCsv, LogHeader, source + "/log.csv")
            .Select(f =>
            {
                int step = int.Parse(f[0], Invariant);
                return new EvaluationPoint(step, Parse(f[1]), Parse(f[2]), Parse(f[3]), gains.GetValueOrDefault(step));
            })
            .ToList();
    }

    private static IEnumerable<string[]> Rows(string csv, string header, string source)
    {
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0].TrimEnd('\r') != header)
            throw new InvalidDataException($"{source} does not start with the expected header '{header}'.");
        int columns = header.Count(c => c == ',') + 1;
        foreach (var (line, index) in lines.Skip(1).Select((l, i) => (l.TrimEnd('\r'), i + 2)))
        {
            var fields = line.Split(',');
            if (fields.Length != columns)
                throw new InvalidDataException($"{source}, line {index}: {fields.Length} fields where the header has {columns}.");
            yield return fields;
        }
    }

    private static string Number(double? value) => value is { } v && !double.IsNaN(v) ? v.ToString("R", Invariant) : "";

    private static double Parse(string field) => field.Length == 0 ? double.NaN : double.Parse(field, NumberStyles.Float, Invariant);
}
