namespace Mhc.Runtime;

/// <summary>Selects how the connection's numeric work is carried out.</summary>
public enum OpsImplementation
{
    /// <summary>Fused CPU kernels with hand-written backward passes (vectorised, multi-threaded).</summary>
    Fused,
    /// <summary>A plain composition of TorchSharp operations, differentiated by autograd. The oracle the fused kernels are tested against.</summary>
    Reference,
}
