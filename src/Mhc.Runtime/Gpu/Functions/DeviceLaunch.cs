using Mhc.Runtime.Gpu.Kernels;
using Mhc.Runtime.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Gpu.Functions;

/// <summary>
/// One op's launches on the device of its tensors: binds the accelerator to this thread, hands out views
/// over the tensors, and on disposal waits where the CPU reads the results next (the CPU accelerator) and
/// releases the views. Outputs and scratch are allocated by libtorch on the same device, so the caching
/// allocator, not ILGPU, owns all memory.
/// </summary>
internal sealed class DeviceLaunch : IDisposable
{
    private readonly TensorViews _views;
    private readonly List<Tensor> _temporaries = [];

    public DeviceLaunch(Tensor like)
    {
        Runtime = DeviceRuntime.For(like);
        Device = like.device;
        Runtime.Bind();
        _views = Runtime.Views();
    }

    public DeviceRuntime Runtime { get; }

    public DeviceKernels Kernels => Runtime.Kernels;

    public Device Device { get; }

    public ILGPU.ArrayView<float> this[Tensor tensor] => _views.Of(tensor);

    public Tensor Empty(params long[] shape) => empty(shape, dtype: ScalarType.Float32, device: Device);

    /// <summary>Scratch for this op alone, freed once its launches have completed.</summary>
    public Tensor Scratch(params long[] shape) => Temporary(Empty(shape));

    /// <summary>A gradient as a contiguous tensor; one that autograd left undefined (an unused output) reads as zeros.</summary>
    public Tensor GradientOrZeros(Tensor? grad, params long[] shape) => Temporary(
        grad is { IsInvalid: false } g ? g.contiguous() : zeros(shape, dtype: ScalarType.Float32, device: Device));

    private Tensor Temporary(Tensor tensor)
    {
        _temporaries.Add(tensor);
        return tensor;
    }

    public static KernelSizes Sizes(Tensor x, int iterations = 0, double rmsEps = 0) =>
        new(Tokens(x), (int)x.shape[^2], (int)x.shape[^1], iterations, (float)rmsEps);

    /// <summary>Tokens of a [..., n, C] or [..., n, n] tensor.</summary>
    public static int Tokens(Tensor x)
    {
        long tokens = OpsArguments.Tokens(x, 2);
        return tokens <= int.MaxValue ? (int)tokens
            : throw new NotSupportedException($"{tokens} tokens in one call; the device kernels take at most {int.MaxValue} (split the batch).");
    }

    public void Dispose()
    {
        Runtime.Complete();
        _views.Dispose();
        foreach (var tensor in _temporaries) tensor.Dispose();
    }
}
