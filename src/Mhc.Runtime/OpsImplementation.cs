namespace Mhc.Runtime;

/// <summary>Selects how the connection's numeric work is carried out.</summary>
public enum OpsImplementation
{
    /// <summary>Fused CPU kernels with hand-written backward passes (vectorised, multi-threaded).</summary>
    Fused,
    /// <summary>A plain composition of TorchSharp operations, differentiated by autograd. The oracle the fused kernels are tested against.</summary>
    Reference,
    /// <summary>
    /// The device kernels (<c>Gpu/</c>, ILGPU), on the tensors' own memory: what a connection uses for CUDA
    /// tensors (float32, n ≤ 8) when <see cref="Fused"/> is chosen. Also takes CPU tensors, on ILGPU's CPU
    /// accelerator, which emulates the GPU's execution model: for testing the kernels, far too slow for models.
    /// </summary>
    Device,
}
