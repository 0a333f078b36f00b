using System.Runtime.InteropServices;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>Tensor construction and comparison helpers for the ops tests.</summary>
internal static class OpsAssert
{
    public static Tensor FromValues(double[] values, long[] shape, ScalarType dtype, bool requiresGrad = false)
    {
        using var source = tensor(values, shape, ScalarType.Float64);
        var result = source.to(dtype).detach();
        return result.requires_grad_(requiresGrad);
    }

    public static double[] Values(Tensor t)
    {
        using var asDouble = t.detach().to(ScalarType.Float64).contiguous();
        return asDouble.data<double>().ToArray();
    }

    /// <summary>‖a − b‖ / ‖b‖, computed in float64.</summary>
    public static double RelativeError(Tensor actual, double[] expected)
    {
        var a = Values(actual);
        Assert.Equal(expected.Length, a.Length);
        double diff = 0, norm = 0;
        for (int i = 0; i < a.Length; i++)
        {
            diff += (a[i] - expected[i]) * (a[i] - expected[i]);
            norm += expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), double.Epsilon);
    }

    public static void Close(Tensor actual, double[] expected, double tolerance, string what)
    {
        double error = RelativeError(actual, expected);
        Assert.True(error <= tolerance, $"{what}: relative error {error:E3} > {tolerance:E1}");
    }

    public static void Close(Tensor actual, Tensor expected, double tolerance, string what)
        => Support.TensorAssert.Close(actual, expected, tolerance, what);

    /// <summary>Loose bound for float32 against float64 truth, tight for float64.</summary>
    public static double Tolerance(ScalarType dtype) => dtype == ScalarType.Float32 ? 1e-5 : 1e-10;

    public static Tensor Random(long[] shape, double scale, ScalarType dtype, Generator generator, bool requiresGrad = false)
    {
        using var raw = randn(shape, ScalarType.Float64, generator: generator);
        using var scaled = raw * scale;
        return scaled.to(dtype).detach().requires_grad_(requiresGrad);
    }

    /// <summary>The elements of a contiguous CPU tensor, writable in place.</summary>
    public static Span<double> Span64(Tensor t) => MemoryMarshal.Cast<byte, double>(t.bytes);
}
