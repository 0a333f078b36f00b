using System.Diagnostics;
using System.Globalization;

namespace Mhc.Benchmarks;

/// <summary>
/// Times two or more variants of the same work side by side: warm-up, then rounds in which every
/// variant runs once in turn (so drift in machine load hits all of them alike), reporting medians.
/// </summary>
internal static class Harness
{
    public static IReadOnlyList<double> MedianMilliseconds(IReadOnlyList<Action> variants, int warmup, int rounds)
    {
        foreach (var run in variants)
            for (int i = 0; i < warmup; i++) run();
        var samples = variants.Select(_ => new List<double>(rounds)).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < variants.Count; v++)
            {
                var clock = Stopwatch.StartNew();
                variants[v]();
                samples[v].Add(clock.Elapsed.TotalMilliseconds);
            }
        return samples.Select(Median).ToList();
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        int mid = values.Count / 2;
        return values.Count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    }

    public static string Ms(double value) => value.ToString(value < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture);

    public static string Ratio(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "x";
}
