namespace Mhc.Runtime;

/// <summary>How n streams collapse back to one after the last block.</summary>
public enum ReduceMode
{
    /// <summary>Mean over streams: keeps a converted network equal to the original at init.</summary>
    Mean,
    /// <summary>Sum over streams.</summary>
    Sum,
    /// <summary>A learned, input-dependent sigmoid-weighted sum (<see cref="StreamReduce"/>); equals the mean at init.</summary>
    Learned,
}
