using System.Diagnostics;
using System.Globalization;

namespace Mhc.Benchmarks;

/// <summary>
/// Times two or more variants of the same work side by side: warm-up, then rounds in which every
/// variant runs once in turn (so drift in machine load hits all of them alike) on a collected heap, reporting medians.
/// </summary>
internal static class Harness
{
    public static IReadOnlyList<double> MedianMilliseconds(IReadOnlyList<Action> variants, int warmup, int rounds) =>
        Rounds(variants, warmup, rounds).Select(r => Median(r)).ToList();

    /// <summary>Every round's time of every variant, ms: [variant][round].</summary>
    public static double[][] Rounds(IReadOnlyList<Action> variants, int warmup, int rounds)
    {
        foreach (var run in variants)
            for (int i = 0; i < warmup; i++) run();
        var samples = variants.Select(_ => new double[rounds]).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int v = 0; v < variants.Count; v++)
            {
                CollectGarbage();
                var clock = Stopwatch.StartNew();
                variants[v]();
                samples[v][r] = clock.Elapsed.TotalMilliseconds;
            }
        return samples;
    }

    /// <summary>
    /// Collects the heap before a timed run: the garbage a previous run left (the reference path's many tensor
    /// wrappers, each with a finalizer) would otherwise be collected in the next one's time.
    /// </summary>
    public static void CollectGarbage()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    /// <summary>
    /// The ratio of two variants round by round (each round's pair ran back to back, so they shared that
    /// moment's machine load), as median and spread: "1.43x (1.38–1.52)", the spread being the 25th to
    /// 75th percentile of the per-round ratios.
    /// </summary>
    public static string RatioWithSpread(double[] numerator, double[] denominator)
    {
        var ratios = numerator.Zip(denominator, (a, b) => a / b).ToArray();
        return $"{Ratio(Median(ratios))} ({Percentile(ratios, 0.25):0.00}–{Percentile(ratios, 0.75):0.00})";
    }

    public static double Median(IEnumerable<double> values) => Percentile(values.ToArray(), 0.5);

    /// <summary>Linear interpolation between the closest ranks.</summary>
    private static double Percentile(double[] values, double fraction)
    {
        var sorted = values.Order().ToArray();
        double rank = fraction * (sorted.Length - 1);
        int low = (int)Math.Floor(rank), high = (int)Math.Ceiling(rank);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }

    public static string Ms(double value) => value.ToString(value < 10 ? "0.000" : "0.0", CultureInfo.InvariantCulture);

    public static string Ratio(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "x";
}
