using static TorchSharp.torch;

namespace Mhc.Runtime;

/// <summary>Shape and dtype checks shared by the stream modules, with messages that name both shapes.</summary>
internal static class StreamShape
{
    public static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>Checks that <paramref name="streams"/> is [..., n, C].</summary>
    public static void RequireStreams(Tensor streams, int n, long channels, string argument)
        => RequireStreams(Ops.TensorShape.Of(streams), n, channels, argument);

    /// <summary>The shape of one stream of a stream tensor's <paramref name="shape"/> [..., n, C]: [..., C], what a branch takes and returns.</summary>
    public static long[] OneStream(long[] shape) => [.. shape.AsSpan(0, shape.Length - 2), shape[^1]];

    /// <summary>Checks that a stream tensor's <paramref name="shape"/> is [..., n, C].</summary>
    public static void RequireStreams(long[] shape, int n, long channels, string argument)
    {
        if (shape.Length < 2 || shape[^2] != n || shape[^1] != channels)
            throw new ArgumentException(
                $"Expected a stream tensor of shape [..., {n}, {channels}] (n = {n} streams of width {channels}), got {Format(shape)}. " +
                (shape.Length >= 1 && shape[^1] == channels && (shape.Length < 2 || shape[^2] != n)
                    ? "Did you forget HyperStreams.Expand before the first hyper-connected block, or collapse the streams inside the stack?"
                    : "Check the connection's channel width against the block's."),
                argument);
    }

    /// <summary>The dtype the mappings are computed in: float32 for lower-precision activations (MHC-SPEC §2).</summary>
    public static ScalarType ComputeType(ScalarType activations, string argument) => activations switch
    {
        ScalarType.Float32 or ScalarType.Float64 => activations,
        ScalarType.Float16 or ScalarType.BFloat16 => ScalarType.Float32,
        _ => throw new NotSupportedException(
            $"Argument '{argument}' has dtype {activations}; hyper-connections need floating-point activations (float32, float64, float16 or bfloat16)."),
    };
}
