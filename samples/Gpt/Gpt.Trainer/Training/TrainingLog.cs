using System.Globalization;
using System.Text;

namespace Gpt.Trainer.Training;

/// <summary>The evaluation history of a run as CSV: one row per evaluation, gains empty where no probe ran.</summary>
public static class TrainingLog
{
    public const string Header = "step,train_loss,val_loss,tokens_per_second,composite_gain_max,layer0_composite_fwd_max,layer0_composite_bwd_max";

    public static string ToCsv(IEnumerable<EvaluationPoint> history)
    {
        var csv = new StringBuilder(Header).Append('\n');
        foreach (var p in history)
        {
            var first = p.Gains?.Connections.FirstOrDefault();
            csv.Append(string.Create(CultureInfo.InvariantCulture,
                $"{p.Step},{p.TrainLoss:R},{p.ValidationLoss:R},{p.TokensPerSecond:0.0},{p.Gains?.MaxCompositeGain:R},{first?.CompositeForward.Max:R},{first?.CompositeBackward.Max:R}"))
               .Append('\n');
        }
        return csv.ToString();
    }
}
