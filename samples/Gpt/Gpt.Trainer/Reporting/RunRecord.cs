using Gpt.Trainer.Training;

namespace Gpt.Trainer.Reporting;

/// <summary>
/// What defines a run: enough to reproduce it from its seed, and to label it in plots and tables.
/// <see cref="StepsBefore"/> is nonzero for a run resumed from a checkpoint (<c>--resume</c>).
/// </summary>
public sealed record RunManifest(
    string Label,
    Connection Connection,
    int Streams,
    ModelShape Shape,
    int Steps,
    int Batch,
    double LearningRate,
    int Seed,
    int EvalInterval,
    int ProbeInterval,
    string Data,
    long Parameters,
    int StepsBefore = 0)
{
    /// <summary>The run's steps, numbered on from those a resumed run's checkpoint had already taken.</summary>
    public string StepRange => StepsBefore == 0 ? $"{Steps} steps" : $"steps {StepsBefore + 1}–{StepsBefore + Steps} (resumed after {StepsBefore})";
}

/// <summary>A finished run: its manifest, what it measured at each evaluation point, and its training time.</summary>
public sealed record RunRecord(RunManifest Manifest, IReadOnlyList<EvaluationPoint> History, double TrainingSeconds)
{
    public IEnumerable<EvaluationPoint> Evaluations => History.Where(p => !double.IsNaN(p.ValidationLoss));

    public IEnumerable<EvaluationPoint> Probes => History.Where(p => p.Gains is { Connections.Count: > 0 });

    public EvaluationPoint? FinalEvaluation => Evaluations.LastOrDefault();

    /// <summary>The largest composite gain (forward or backward, any layer, any token) over every probe; null for a run without probes.</summary>
    public double? PeakCompositeGain => Probes.Any() ? Probes.Max(p => p.Gains!.MaxCompositeGain) : null;

    /// <summary>The largest single-layer gain over every probe and connection.</summary>
    public double? PeakSingleLayerGain => Probes.Any()
        ? Probes.Max(p => p.Gains!.Connections.Max(c => Math.Max(c.Forward.Max, c.Backward.Max)))
        : null;

    public double TokensPerSecond => TrainingSeconds > 0 ? (double)Manifest.Steps * Manifest.Batch * Manifest.Shape.Context / TrainingSeconds : double.NaN;
}
