using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Gpu;

/// <summary>
/// The accelerator and compiled kernels for the device a tensor lives on, created on first use and kept
/// for the process. A CUDA device gets a CUDA accelerator on libtorch's (primary) context whose stream is
/// the legacy default stream, the stream libtorch runs on (TorchSharp 0.107 exposes no way to pick
/// another), so kernels order with libtorch's own without any synchronisation. A CPU tensor gets ILGPU's
/// CPU accelerator, which runs the same kernels with the GPU execution model emulated: the way the kernels
/// and the dispatch are tested where there is no GPU (slow; not a way to run models).
/// </summary>
internal sealed class DeviceRuntime
{
    private static readonly Lazy<Context> SharedContext = new(CreateContext);
    private static readonly Lazy<DeviceRuntime> Host = new(CreateHost);
    private static readonly Dictionary<int, DeviceRuntime> Cuda = [];

    private readonly Func<TensorViews> _views;

    private DeviceRuntime(DeviceKernels kernels, Func<TensorViews> views, bool synchronous)
    {
        Kernels = kernels;
        _views = views;
        Synchronous = synchronous;
    }

    public DeviceKernels Kernels { get; }

    /// <summary>Whether a launch must be waited for before its outputs are read (the CPU accelerator's tensors are read by the CPU right away).</summary>
    public bool Synchronous { get; }

    public static DeviceRuntime For(Tensor tensor)
    {
        if (tensor.device_type == DeviceType.CPU)
            return Host.Value;
        if (tensor.device_type != DeviceType.CUDA)
            throw new NotSupportedException($"The device kernels run on CUDA devices (and on the CPU for testing), not on {tensor.device}.");
        lock (Cuda)
        {
            int index = tensor.device_index < 0 ? 0 : tensor.device_index;
            if (!Cuda.TryGetValue(index, out var runtime))
                Cuda[index] = runtime = CreateCuda(index);
            return runtime;
        }
    }

    /// <summary>Views over tensors' memory for one op; dispose after the op's launches.</summary>
    public TensorViews Views() => _views();

    /// <summary>Makes the accelerator current on this thread (autograd runs CUDA backward passes on a thread of its own) .</summary>
    public void Bind() => Kernels.Accelerator.Bind();

    /// <summary>Waits for the launches when the caller reads results on the CPU; on a GPU, stream order suffices.</summary>
    public void Complete()
    {
        if (Synchronous) Kernels.Stream.Synchronize();
    }

    /// <summary>An ILGPU context with the CPU and CUDA back ends and the algorithms library (XMath on PTX).</summary>
    public static Context CreateContext() => Context.Create(b => b.CPU().Cuda().EnableAlgorithms());

    private static DeviceRuntime CreateHost()
    {
        var accelerator = SharedContext.Value.CreateCPUAccelerator(0);
        return new DeviceRuntime(new DeviceKernels(accelerator, accelerator.DefaultStream), () => new HostTensorViews(accelerator), synchronous: true);
    }

    private static DeviceRuntime CreateCuda(int index)
    {
        var accelerator = CudaContextBinding.CreateOnPrimaryContext(SharedContext.Value, index);
        var origin = CudaContextBinding.AddressOrigin(accelerator);
        // ILGPU's default stream of a CUDA accelerator is the null (legacy default) stream of the bound context.
        return new DeviceRuntime(new DeviceKernels(accelerator, accelerator.DefaultStream), () => new DeviceTensorViews(origin), synchronous: false);
    }
}
