using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace Mhc.Runtime.Gpu;

/// <summary>
/// Puts an ILGPU CUDA accelerator on the CUDA context libtorch uses, so that kernels can address
/// libtorch's allocations and order with its kernels. libtorch (through the CUDA runtime API) works in the
/// device's primary context; ILGPU 1.5.3 always creates a context of its own, and memory of one context
/// is not addressable from another. ILGPU has no public hook for this, so the binding swaps the context
/// handle the accelerator binds (its <c>NativePtr</c>) for the primary context, retained through the
/// driver API, before any kernel is loaded, and destroys ILGPU's own context. Every assumption this makes
/// is listed in docs/design.md ("Device kernels"); the device check (tools/Mhc.DeviceCheck) exercises it.
/// </summary>
internal static class CudaContextBinding
{
    [DllImport("libcuda.so.1", EntryPoint = "cuDevicePrimaryCtxRetain")]
    private static extern int RetainPrimaryContext(out IntPtr context, int device);

    [DllImport("libcuda.so.1", EntryPoint = "cuCtxSetCurrent")]
    private static extern int SetCurrentContext(IntPtr context);

    /// <summary>Creates the accelerator for a device, bound to the device's primary context.</summary>
    public static CudaAccelerator CreateOnPrimaryContext(Context context, int deviceIndex)
    {
        var accelerator = context.CreateCudaAccelerator(deviceIndex);
        var own = accelerator.NativePtr;
        Check(RetainPrimaryContext(out var primary, accelerator.DeviceId), "cuDevicePrimaryCtxRetain");
        var nativePtr = typeof(Accelerator).GetProperty(nameof(Accelerator.NativePtr))?.GetSetMethod(nonPublic: true)
            ?? throw new NotSupportedException("This ILGPU version has no settable Accelerator.NativePtr; the CUDA binding is written for ILGPU 1.5.3.");
        nativePtr.Invoke(accelerator, [primary]);
        // Made current here rather than through accelerator.Bind(): ILGPU skips Bind on the thread where the
        // accelerator is already bound (the one that created it), which would leave ILGPU's own context current;
        // destroying that one then leaves the thread with no context at all. With the primary context current,
        // destroying ILGPU's leaves this thread's current context alone. Other threads bind through ILGPU,
        // which now sets the primary context.
        Check(SetCurrentContext(primary), "cuCtxSetCurrent");
        Check((int)CudaAPI.CurrentAPI.DestroyContext(own), "cuCtxDestroy");
        return accelerator;
    }

    /// <summary>
    /// A buffer whose base address reads as 0 (see <see cref="DeviceTensorViews"/>). It is allocated as
    /// one element so that ILGPU owns a valid object, then its address is taken back and freed here.
    /// </summary>
    public static MemoryBuffer AddressOrigin(CudaAccelerator accelerator)
    {
        var raw = accelerator.AllocateRaw(1, sizeof(float));
        var allocated = raw.NativePtr;
        var setter = typeof(MemoryBuffer).GetProperty(nameof(MemoryBuffer.NativePtr))?.GetSetMethod(nonPublic: true)
            ?? throw new NotSupportedException("This ILGPU version has no settable MemoryBuffer.NativePtr; the CUDA binding is written for ILGPU 1.5.3.");
        setter.Invoke(raw, [IntPtr.Zero]);
        Check((int)CudaAPI.CurrentAPI.FreeMemory(allocated), "cuMemFree");
        return raw;
    }

    private static void Check(int status, string call)
    {
        if (status != 0)
            throw new InvalidOperationException($"{call} failed with CUDA error {status}; the device kernels cannot run on this device.");
    }
}
