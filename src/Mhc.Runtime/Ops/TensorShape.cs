using static TorchSharp.torch;

namespace Mhc.Runtime.Ops;

/// <summary>
/// A tensor's sizes, read one dimension at a time. TorchSharp's <c>Tensor.shape</c> marshals the sizes through a
/// pinned array that is left to the finalizer: about a microsecond on the calling thread, and work on the finalizer's,
/// which shares the cores with libtorch's threads. A connection's call at a decoding step read shapes six times, where
/// the arithmetic of one token takes a few microseconds; <c>dim()</c> and <c>size(d)</c> cost a few tens of nanoseconds.
/// </summary>
internal static class TensorShape
{
    /// <summary>The sizes of <paramref name="tensor"/>, as <c>tensor.shape</c> gives them.</summary>
    public static long[] Of(Tensor tensor)
    {
        var sizes = new long[tensor.dim()];
        for (int d = 0; d < sizes.Length; d++)
            sizes[d] = tensor.size(d);
        return sizes;
    }

    /// <summary>Whether <paramref name="tensor"/> has exactly the sizes <paramref name="expected"/>.</summary>
    public static bool Is(Tensor tensor, ReadOnlySpan<long> expected)
    {
        if (tensor.dim() != expected.Length)
            return false;
        for (int d = 0; d < expected.Length; d++)
            if (tensor.size(d) != expected[d])
                return false;
        return true;
    }
}
