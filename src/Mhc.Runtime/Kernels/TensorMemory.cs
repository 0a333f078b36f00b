using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Mhc.Runtime.Kernels;

/// <summary>Raw access to a contiguous CPU tensor's elements, without copying.</summary>
internal static unsafe class TensorMemory
{
    /// <summary>
    /// Address of the first element. The storage is native memory, so the address stays valid for as
    /// long as the tensor lives; callers must keep the tensor alive while they use it.
    /// </summary>
    public static T* Pointer<T>(torch.Tensor tensor) where T : unmanaged
    {
        if (tensor.numel() == 0)
            return null;
        var bytes = tensor.bytes;
        return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes));
    }

    /// <summary><see cref="Pointer{T}"/>, or null for an absent tensor (a gradient that did not arrive, a term left out).</summary>
    public static T* OptionalPointer<T>(torch.Tensor? tensor) where T : unmanaged
        => tensor is null ? null : Pointer<T>(tensor);
}
