using Mhc.Runtime;
using Mhc.Runtime.Ops;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Calls;

/// <summary>
/// What one connection call costs under no_grad at a decoding step's token counts, in microseconds, against a
/// plain residual add: where generation's time goes once a KV cache has removed the shared work. Each variant
/// makes many calls per timed run (a call is a few microseconds, below the clock's useful resolution). Then the same
/// calls inside a stack shaped like a decoding step (<see cref="DecodeStack"/>), where they cost several times as much.
/// </summary>
internal static class CallCostSuite
{
    private const int Streams = 4, CallsPerRun = 2000;

    public static void Run(BenchmarkSettings settings)
    {
        Console.WriteLine($"Connection calls under no_grad, µs per call, medians of {settings.Rounds} interleaved rounds of {CallsPerRun} calls\n");
        Console.WriteLine("  tokens    C   x + f   4 streams, no mixing   mHC through the four ops   mHC connection   connection / x + f");
        foreach (long channels in settings.Quick ? new long[] { 256 } : new long[] { 128, 256, 768 })
            foreach (long tokens in new long[] { 1, 64 })
                Row(tokens, channels, settings);

        Console.WriteLine($"\nThe same calls inside a decoding step's stack (one token, the GPT's 12·C² weights a layer as branches), " +
                          $"µs per call, medians of {settings.Rounds} interleaved rounds of {StackTokens} tokens");
        Console.WriteLine("     C   layers   x + f   mHC: before the branch   after it   together   token: residual µs   mHC µs   mHC / residual tokens/s");
        foreach (var (channels, layers) in settings.Quick ? new[] { (256L, 6) } : new[] { (128L, 4), (256L, 6), (768L, 4) })
            StackRow(channels, layers, settings);
    }

    private const int StackTokens = 100;

    /// <summary>
    /// One row of the stack table: per round, the residual stack's and the mHC stack's tokens in turn, with the adds' and the
    /// connections' own time taken from each run.
    /// </summary>
    private static void StackRow(long channels, int layers, BenchmarkSettings settings)
    {
        using var stack = new DecodeStack(channels, layers);
        var adds = new List<double>();
        var (before, after) = (new List<double>(), new List<double>());
        var rounds = Harness.Rounds(
        [
            () => { stack.Reset(); stack.Residual(StackTokens); adds.Add(stack.PerCall.Before); },
            () => { stack.Reset(); stack.Mhc(StackTokens); before.Add(stack.PerCall.Before); after.Add(stack.PerCall.After); },
        ], settings.Warmup, settings.Rounds);
        // The warm-up runs appended too: keep each list's timed rounds only.
        double Timed(List<double> values) => Harness.Median(values.Skip(values.Count - settings.Rounds));
        var together = before.Zip(after, (b, a) => b + a).ToList();
        double PerToken(double[] ms) => 1000 * Harness.Median(ms) / StackTokens;
        Console.WriteLine($"  {channels,4} {layers,8} {Timed(adds),7:0.0}   {Timed(before),22:0.0}   {Timed(after),8:0.0}   {Timed(together),8:0.0}   " +
                          $"{PerToken(rounds[0]),18:0}   {PerToken(rounds[1]),6:0}   {Harness.RatioWithSpread(rounds[0], rounds[1]),23}");
    }

    private static void Row(long tokens, long channels, BenchmarkSettings settings)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var x = HyperStreams.Expand(randn(1, tokens, channels), Streams) + 0.1 * randn(1, tokens, Streams, channels);
        var single = randn(1, tokens, channels);
        var f = randn(1, tokens, channels);
        var mhc = new HyperConnection("mhc", channels, new HyperConnectionOptions());
        var wide = new HyperConnection("wide", channels, new HyperConnectionOptions { Kind = ConnectionKind.Residual });
        var phi = 0.02 * randn(Streams * channels, Streams * Streams + 2 * Streams);
        var bias = randn(Streams * Streams + 2 * Streams);
        var alpha = full(3, 0.01);

        Action Calls(Action call) => () =>
        {
            for (int i = 0; i < CallsPerRun; i++)
            {
                using var inner = NewDisposeScope();
                call();
            }
        };
        var times = Harness.MedianMilliseconds(
        [
            Calls(() => _ = single + f),
            Calls(() => wide.forward(x, _ => f)),
            Calls(() =>
            {
                // What the connection ran before it had its own inference path: the public ops one by one.
                var (pre, post, logits) = MhcOps.Coefficients(x, phi, bias, alpha);
                var hRes = MhcOps.Sinkhorn(logits, 20);
                MhcOps.PreMix(x, pre);
                MhcOps.Merge(x, hRes, post, f);
            }),
            Calls(() => mhc.forward(x, _ => f)),
        ], settings.Warmup, settings.Rounds);
        var us = times.Select(t => 1000 * t / CallsPerRun).ToArray();
        Console.WriteLine($"  {tokens,6} {channels,4} {us[0],7:0.0}   {us[1],20:0.0}   {us[2],24:0.0}   {us[3],14:0.0}   {Harness.Ratio(us[3] / us[0]),18}");
        mhc.Dispose();
        wide.Dispose();
    }
}
