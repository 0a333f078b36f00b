namespace Mhc.Runtime.Checkpoints;

/// <summary>What <see cref="StateDictLoader"/> did with a checkpoint, in model names unless said otherwise.</summary>
/// <param name="Loaded">Model entries filled from the checkpoint.</param>
/// <param name="Missing">Model entries the checkpoint has nothing for: left as they were.</param>
/// <param name="Unexpected">Checkpoint entries (their names in the file) that map to no model entry.</param>
/// <param name="Mismatches">Entries present in both that could not load, each with the reason (shape or dtype).</param>
/// <param name="Ignored">Checkpoint entries the name map drops on purpose.</param>
public sealed record LoadReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> Mismatches,
    IReadOnlyList<string> Ignored)
{
    /// <summary>True when every model entry loaded and every checkpoint entry found its place or was dropped on purpose.</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && Mismatches.Count == 0;

    public override string ToString() =>
        $"loaded {Loaded.Count}, missing {Format(Missing)}, unexpected {Format(Unexpected)}, " +
        $"mismatched {Format(Mismatches)}, ignored {Ignored.Count}";

    internal static string Format(IReadOnlyList<string> keys) =>
        keys.Count == 0 ? "0" : $"{keys.Count} ({string.Join(", ", keys.Take(5))}{(keys.Count > 5 ? ", …" : "")})";
}
