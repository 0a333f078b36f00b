namespace Mhc.DeviceCheck;

/// <summary>Reproducible random inputs (the same on every run and for both accelerators).</summary>
internal static class Inputs
{
    public static float[] Random(long length, double scale, int seed)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (long i = 0; i < length; i++)
            data[i] = (float)((random.NextDouble() * 2 - 1) * scale);
        return data;
    }

    /// <summary>Values in (lo, hi): coefficients such as sigmoid outputs.</summary>
    public static float[] Between(long length, double lo, double hi, int seed)
    {
        var random = new Random(seed);
        var data = new float[length];
        for (long i = 0; i < length; i++)
            data[i] = (float)(lo + random.NextDouble() * (hi - lo));
        return data;
    }

    /// <summary>‖a − b‖ / ‖b‖, in double.</summary>
    public static double RelativeError(float[] actual, float[] expected)
    {
        double diff = 0, norm = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double d = (double)actual[i] - expected[i];
            diff += d * d;
            norm += (double)expected[i] * expected[i];
        }
        return Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-300);
    }
}
