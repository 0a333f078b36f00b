namespace Mhc.Runtime.Tests.Support;

internal static class TensorAssert
{
    /// <summary>Same dtype, shape and bits (NaNs aside, which these tests never hold).</summary>
    public static bool BitEqual(Tensor a, Tensor b) =>
        a.dtype == b.dtype && a.shape.SequenceEqual(b.shape) && a.cpu().contiguous().bytes.SequenceEqual(b.cpu().contiguous().bytes);

    /// <summary>Relative error ‖a − b‖ / ‖b‖, the measure the golden cases are specified in.</summary>
    public static double RelativeError(Tensor actual, Tensor expected)
    {
        using var a = actual.detach().to_type(ScalarType.Float64);
        using var b = expected.detach().to_type(ScalarType.Float64);
        using var diff = (a - b).norm();
        using var reference = b.norm();
        return diff.item<double>() / Math.Max(reference.item<double>(), 1e-300);
    }

    public static double MaxAbsDifference(Tensor actual, Tensor expected)
    {
        using var diff = (actual.detach().to_type(ScalarType.Float64) - expected.detach().to_type(ScalarType.Float64)).abs().max();
        return diff.item<double>();
    }

    public static void Close(Tensor actual, Tensor expected, double relativeTolerance, string what)
    {
        Assert.Equal(expected.shape, actual.shape);
        double error = RelativeError(actual, expected);
        Assert.True(error <= relativeTolerance, $"{what}: relative error {error:E3} exceeds {relativeTolerance:E1}");
    }
}
