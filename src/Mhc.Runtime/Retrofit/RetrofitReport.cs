namespace Mhc.Runtime.Retrofit;

/// <summary>What <see cref="Retrofitter"/> loaded into a converted model.</summary>
/// <param name="Loaded">Checkpoint entries copied into the model.</param>
/// <param name="KeptAtInit">Model entries of the new stream modules (connections, learned reductions), left at their function-preserving init.</param>
/// <param name="Missing">Other model entries the checkpoint lacks: left as they were, which usually means the checkpoint is not of this model.</param>
/// <param name="Unexpected">Checkpoint entries the model has no place for.</param>
/// <param name="ShapeMismatches">Entries present in both whose shapes (or kinds of dtype) differ, each with the reason: not loaded.</param>
public sealed record RetrofitReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> KeptAtInit,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> ShapeMismatches)
{
    /// <summary>True when every original weight found its place and nothing else was left out.</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && ShapeMismatches.Count == 0;

    public override string ToString() =>
        $"loaded {Loaded.Count}, new connection parameters kept at init {KeptAtInit.Count}, " +
        $"missing {Format(Missing)}, unexpected {Format(Unexpected)}, shape mismatches {Format(ShapeMismatches)}";

    private static string Format(IReadOnlyList<string> keys) => Checkpoints.LoadReport.Format(keys);
}
