using ILGPU;
using ILGPU.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Gpu;

/// <summary>
/// Kernel views over tensors' own memory (no copies). A tensor's first element lies at
/// <c>storage.data_ptr() + storage_offset·4</c>; on a CUDA tensor that is a device address in libtorch's
/// allocation, on a CPU tensor a host address. The tensors must stay alive, and unchanged by anyone else,
/// until the kernels that use the views have run.
/// </summary>
internal abstract class TensorViews : IDisposable
{
    /// <summary>A view of a contiguous float32 tensor's elements.</summary>
    public abstract ArrayView<float> Of(Tensor tensor);

    public virtual void Dispose() { }

    /// <summary>Address of a tensor's first element.</summary>
    public static long Address(Tensor tensor)
    {
        if (tensor.dtype != ScalarType.Float32)
            throw new NotSupportedException($"A tensor of dtype {tensor.dtype} reached a device kernel, which takes Float32 only.");
        if (!tensor.is_contiguous())
            throw new ArgumentException("A non-contiguous tensor reached a device kernel; call .contiguous() first.");
        return (long)tensor.storage<float>().data_ptr() + tensor.storage_offset() * sizeof(float);
    }
}

/// <summary>
/// Views for ILGPU's CPU accelerator: each wraps the host address in a pointer buffer (ILGPU's public
/// <see cref="ILGPU.Runtime.CPU.CPUMemoryBuffer.Create(Accelerator, IntPtr, long, int)"/>); disposing the
/// wrappers leaves the memory to libtorch.
/// </summary>
internal sealed class HostTensorViews(Accelerator accelerator) : TensorViews
{
    private readonly List<MemoryBuffer> _wrappers = [];

    public override ArrayView<float> Of(Tensor tensor)
    {
        long length = Math.Max(tensor.numel(), 1);
        var buffer = ILGPU.Runtime.CPU.CPUMemoryBuffer.Create(accelerator, new IntPtr(tensor.numel() == 0 ? 0 : Address(tensor)), length, sizeof(float));
        _wrappers.Add(buffer);
        return new ArrayView<float>(buffer, 0, tensor.numel());
    }

    public override void Dispose()
    {
        foreach (var wrapper in _wrappers) wrapper.Dispose();
        _wrappers.Clear();
    }
}

/// <summary>
/// Views for a CUDA accelerator. ILGPU 1.5.3 has no public way to wrap a device address it did not
/// allocate, but a view's address is its buffer's base plus index·4, and ILGPU checks neither against the
/// buffer's length: so every view is taken from one <see cref="CudaContextBinding.AddressOrigin"/>, a buffer
/// whose base is 0, at index address/4 (libtorch's allocations are at least 4-byte aligned).
/// </summary>
internal sealed class DeviceTensorViews(MemoryBuffer origin) : TensorViews
{
    public override ArrayView<float> Of(Tensor tensor) => At(origin, Address(tensor), tensor.numel());

    /// <summary>A view of <paramref name="length"/> floats at a device address in the accelerator's context.</summary>
    public static ArrayView<float> At(MemoryBuffer origin, long address, long length)
    {
        if (address % sizeof(float) != 0)
            throw new ArgumentException($"Device data at 0x{address:x} is not 4-byte aligned; the device kernels need aligned float32 data.");
        return new ArrayView<float>(origin, address / sizeof(float), length);
    }
}
