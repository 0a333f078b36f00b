namespace Mhc.Runtime;

/// <summary>
/// Marks a TorchSharp module whose residual sites run as hyper-connections; the Mhc source generator
/// emits its connection modules. Zero means "use the project's MSBuild default" (MhcStreams,
/// MhcSinkhornIterations).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class HyperConnectedAttribute : Attribute
{
    public int Streams { get; set; }
    public int SinkhornIterations { get; set; }
    public ConnectionKind Kind { get; set; } = ConnectionKind.Mhc;
}
