using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Mhc.Runtime.Gpu;

namespace Mhc.DeviceCheck;

/// <summary>
/// One accelerator with the mHC kernels loaded, and the buffers of a check. On a CUDA device it is set up
/// exactly as the runtime sets up a device for libtorch's tensors: the accelerator on the primary context,
/// every view taken through the address origin from a raw device address, launches on the legacy default
/// stream. So the check exercises the zero-copy path too, with the driver's allocations standing in for libtorch's.
/// </summary>
internal sealed class Workbench : IDisposable
{
    private readonly List<MemoryBuffer> _buffers = [];

    // ILGPU's copies check a view against its buffer's length, which a view through the address origin (a
    // one-element buffer) never passes: so each buffer's own view is kept for copies, keyed by the address view
    // (a view compares by buffer, index and length).
    private readonly Dictionary<ArrayView<float>, ArrayView<float>> _own = [];
    private readonly MemoryBuffer? _origin;

    private Workbench(Accelerator accelerator, MemoryBuffer? origin)
    {
        Accelerator = accelerator;
        _origin = origin;
        Kernels = new DeviceKernels(accelerator, accelerator.DefaultStream);
    }

    public Accelerator Accelerator { get; }

    public DeviceKernels Kernels { get; }

    public string Name => Accelerator.Name;

    public static Workbench Cpu(Context context) => new(context.CreateCPUAccelerator(0), origin: null);

    public static Workbench Cuda(Context context)
    {
        if (context.GetCudaDevices().Count == 0)
            throw new InvalidOperationException("No CUDA device found (is the NVIDIA driver installed and the GPU visible?). Run with --accelerator cpu to check the plumbing without one.");
        var accelerator = CudaContextBinding.CreateOnPrimaryContext(context, 0);
        return new Workbench(accelerator, CudaContextBinding.AddressOrigin(accelerator));
    }

    /// <summary>A device buffer holding <paramref name="data"/>.</summary>
    public ArrayView<float> Upload(float[] data)
    {
        var view = Allocate(data.Length);
        Own(view).CopyFromCPU(Accelerator.DefaultStream, data);
        return view;
    }

    /// <summary>A zeroed device buffer.</summary>
    public ArrayView<float> Zeros(long length)
    {
        var view = Allocate(length);
        Own(view).MemSetToZero(Accelerator.DefaultStream);
        return view;
    }

    public float[] Download(ArrayView<float> view)
    {
        Accelerator.DefaultStream.Synchronize();
        var data = new float[view.Length];
        Own(view).CopyToCPU(Accelerator.DefaultStream, data);
        Accelerator.DefaultStream.Synchronize();
        return data;
    }

    /// <summary>Copies one of this workbench's buffers into another of the same length.</summary>
    public void Copy(ArrayView<float> source, ArrayView<float> target) =>
        Own(source).CopyTo(Accelerator.DefaultStream, Own(target));

    public void Synchronize() => Accelerator.DefaultStream.Synchronize();

    /// <summary>Frees every buffer of the check so far.</summary>
    public void Release()
    {
        Synchronize();
        foreach (var buffer in _buffers) buffer.Dispose();
        _buffers.Clear();
        _own.Clear();
    }

    private ArrayView<float> Allocate(long length)
    {
        var raw = Accelerator.AllocateRaw(Math.Max(length, 1), sizeof(float));
        _buffers.Add(raw);
        var own = new ArrayView<float>(raw, 0, length);
        if (_origin is null)
            return own;
        var view = DeviceTensorViews.At(_origin, raw.NativePtr.ToInt64(), length);
        _own.Add(view, own);
        return view;
    }

    private ArrayView<float> Own(ArrayView<float> view) => _origin is null ? view : _own[view];

    public void Dispose() => Release();
}
