using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Ops;

/// <summary>
/// Argument checks for the mHC ops. They run in the forward only: an exception thrown from a backward
/// runs inside a native autograd callback and takes the process down.
/// </summary>
internal static class OpsArguments
{
    public static string Format(ReadOnlySpan<long> shape) => StreamShape.Format(shape.ToArray());

    public static void RequireRankAtLeast(Tensor tensor, string name, int rank, string layout)
    {
        if (tensor.dim() < rank)
            throw new ArgumentException(
                $"{name} must have shape {layout} (rank >= {rank}), got {Format(tensor.shape)} (rank {tensor.dim()}).", name);
    }

    /// <summary>Throws unless the shape is exactly <paramref name="expected"/>; <paramref name="meaning"/> says what it is made of.</summary>
    public static void RequireShape(Tensor tensor, string name, ReadOnlySpan<long> expected, string meaning)
    {
        if (!TensorShape.Is(tensor, expected))
            throw new ArgumentException(
                $"{name} must have shape {Format(expected)} ({meaning}), got {Format(tensor.shape)}.", name);
    }

    /// <summary>
    /// <see cref="RequireShape(Tensor, string, ReadOnlySpan{long}, string)"/> with the meaning written only when the check
    /// fails: it names x's shape, which is costly to read and format on every call of an op.
    /// </summary>
    public static void RequireShape(Tensor tensor, string name, ReadOnlySpan<long> expected, Func<string> meaning)
    {
        if (!TensorShape.Is(tensor, expected))
            RequireShape(tensor, name, expected, meaning());
    }

    /// <summary>x's dims without the last <paramref name="trailing"/> ones, followed by <paramref name="tail"/>.</summary>
    public static long[] Leading(Tensor x, int trailing, params long[] tail)
    {
        int leading = (int)x.dim() - trailing;
        var shape = new long[leading + tail.Length];
        for (int d = 0; d < leading; d++)
            shape[d] = x.size(d);
        tail.CopyTo(shape, leading);
        return shape;
    }

    public static void RequireSameDtype(params (Tensor Tensor, string Name)[] arguments)
    {
        var (first, firstName) = arguments[0];
        foreach (var (tensor, name) in arguments.AsSpan(1))
        {
            if (tensor.dtype != first.dtype)
                throw new ArgumentException(
                    $"{name} has dtype {tensor.dtype} but {firstName} has {first.dtype}; all arguments of an mHC op must share one dtype.", name);
        }
    }

    /// <summary>What the fused kernels can read directly: float32/float64, CPU, contiguous.</summary>
    public static void RequireFusable(params (Tensor Tensor, string Name)[] arguments)
    {
        foreach (var (tensor, name) in arguments)
        {
            if (tensor.dtype != ScalarType.Float32 && tensor.dtype != ScalarType.Float64)
                throw new NotSupportedException(
                    $"{name} has dtype {tensor.dtype}; the fused mHC ops support Float32 and Float64 only (upcast half/bfloat16 first).");
            if (tensor.device_type != DeviceType.CPU)
                throw new NotSupportedException(
                    $"{name} is on device {tensor.device}; the fused mHC ops run on the CPU only (use OpsImplementation.Reference elsewhere).");
            // The kernels address a tensor's memory as one span; larger tensors should be split into batches.
            if (tensor.numel() * tensor.element_size() > int.MaxValue)
                throw new NotSupportedException(
                    $"{name} (shape {Format(tensor.shape)}) holds more than 2 GiB; the fused mHC ops take at most 2 GiB per tensor.");
            if (!tensor.is_contiguous())
                throw new ArgumentException(
                    $"{name} (shape {Format(tensor.shape)}) is not contiguous; call .contiguous() before the fused op.", name);
        }
    }

    public static void RequireKnown(ConnectionConvention convention)
    {
        if (!Enum.IsDefined(convention))
            throw new ArgumentOutOfRangeException(nameof(convention), convention,
                $"Unknown connection convention; use one of {string.Join(", ", Enum.GetNames<ConnectionConvention>())}.");
    }

    /// <summary>
    /// What the device kernels take: MHC-SPEC's convention, contiguous float32 tensors on one device, n ≤ 8
    /// (the stream axis is the second to last of <paramref name="streams"/>). Returns <paramref name="streams"/>.
    /// </summary>
    public static Tensor RequireDeviceKernels(Tensor streams, ConnectionConvention convention, params (Tensor Tensor, string Name)[] arguments)
    {
        if (convention != ConnectionConvention.MhcSpec)
            throw new NotSupportedException(
                $"The device kernels compute MHC-SPEC's convention, not {convention}; use OpsImplementation.Reference for it.");
        long n = streams.size(-2);
        if (n > Gpu.Kernels.KernelSizes.MaxStreams)
            throw new NotSupportedException(
                $"n = {n} streams; the device kernels take at most {Gpu.Kernels.KernelSizes.MaxStreams} (use OpsImplementation.Reference).");
        foreach (var (tensor, name) in arguments)
        {
            if (tensor.dtype != ScalarType.Float32)
                throw new NotSupportedException(
                    $"{name} has dtype {tensor.dtype}; the device kernels take Float32 only (a connection computes its mappings in float32 for half/bfloat16 activations).");
            if (tensor.device_type != streams.device_type || (tensor.is_cuda && tensor.device_index != streams.device_index))
                throw new ArgumentException($"{name} is on {tensor.device} but the streams are on {streams.device}; move them to one device.", name);
            if (!tensor.is_contiguous())
                throw new ArgumentException(
                    $"{name} (shape {Format(tensor.shape)}) is not contiguous; call .contiguous() before the device op.", name);
        }
        return streams;
    }

    /// <summary>Number of tokens: the product of the dims before the last <paramref name="trailing"/>.</summary>
    public static long Tokens(Tensor tensor, int trailing)
    {
        long tokens = 1;
        for (int d = 0; d < tensor.dim() - trailing; d++)
            tokens *= tensor.size(d);
        return tokens;
    }
}
