using Mhc.Runtime;
using Mhc.Runtime.Ops;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Conventions;

/// <summary>
/// What the Megatron-LM and DeepSeek-V4 conventions cost against MHC-SPEC, and their fused path against their
/// reference path: one mHC connection (n = 4, branch tanh(h·W)), forward + backward, all variants of a row
/// interleaved in one run.
/// </summary>
internal static class ConventionSuite
{
    private static readonly ConnectionConvention[] All = Enum.GetValues<ConnectionConvention>();

    public static void Run(BenchmarkSettings settings)
    {
        manual_seed(0);
        Console.WriteLine($"Connection conventions — {Environment.ProcessorCount} cores, {settings.Rounds} rounds, median ms of forward+backward\n");
        long tokens = settings.Quick ? 1024 : 4096;
        Console.WriteLine($"Whole mHC connection, n = 4, {tokens} tokens, fused   MhcSpec ms   Megatron ms   DeepSeekV4 ms   Megatron/MhcSpec   DeepSeekV4/MhcSpec");
        foreach (long channels in new long[] { 256, 768 })
        {
            var t = Harness.MedianMilliseconds(All.Select(c => Step(tokens, channels, c, OpsImplementation.Fused)).ToArray(),
                settings.Warmup, settings.Rounds);
            Console.WriteLine($"  C = {channels,4}                                  {Harness.Ms(t[0]),10}   {Harness.Ms(t[1]),11}   " +
                              $"{Harness.Ms(t[2]),13}   {Harness.Ratio(t[1] / t[0]),16}   {Harness.Ratio(t[2] / t[0]),18}");
        }

        Console.WriteLine($"\nFused ops alone, n = 4, {tokens} tokens, C = 256        MhcSpec ms   Megatron ms   Megatron/MhcSpec");
        foreach (var (name, op) in new (string, Func<ConnectionConvention, Action>)[]
                 { ("Sinkhorn, t = 20", c => SinkhornStep(tokens, c)), ("merge", c => MergeStep(tokens, 256, c)) })
        {
            var t = Harness.MedianMilliseconds([op(ConnectionConvention.MhcSpec), op(ConnectionConvention.Megatron)], settings.Warmup, settings.Rounds);
            Console.WriteLine($"  {name,-20}                            {Harness.Ms(t[0]),10}   {Harness.Ms(t[1]),11}   {Harness.Ratio(t[1] / t[0]),16}");
        }

        Console.WriteLine($"\nMegatron convention, n = 4, {tokens} tokens           fused ms   reference ms   reference/fused");
        foreach (long channels in new long[] { 256, 768 })
        {
            var t = Harness.MedianMilliseconds(
                [Step(tokens, channels, ConnectionConvention.Megatron, OpsImplementation.Fused),
                 Step(tokens, channels, ConnectionConvention.Megatron, OpsImplementation.Reference)],
                settings.Warmup, settings.Rounds);
            Console.WriteLine($"  C = {channels,4}                                  {Harness.Ms(t[0]),8}   {Harness.Ms(t[1]),12}   {Harness.Ratio(t[1] / t[0]),15}");
        }
    }

    private static Action SinkhornStep(long tokens, ConnectionConvention convention)
    {
        var logits = randn(tokens, 4, 4) * 2;
        return () =>
        {
            using var scope = NewDisposeScope();
            MhcOps.Sinkhorn(logits.detach().requires_grad_(), 20, OpsImplementation.Fused, convention).sum().backward();
        };
    }

    private static Action MergeStep(long tokens, long channels, ConnectionConvention convention)
    {
        Tensor[] inputs = [randn(tokens, 4, channels), randn(tokens, 4, 4), randn(tokens, 4), randn(tokens, channels)];
        return () =>
        {
            using var scope = NewDisposeScope();
            var t = inputs.Select(i => i.detach().requires_grad_()).ToArray();
            MhcOps.Merge(t[0], t[1], t[2], t[3], OpsImplementation.Fused, convention).sum().backward();
        };
    }

    private static Action Step(long tokens, long channels, ConnectionConvention convention, OpsImplementation implementation)
    {
        var w = randn(channels, channels) / Math.Sqrt(channels);
        var streams = randn(tokens, 4, channels);
        var connection = new HyperConnection("hc", channels,
            new HyperConnectionOptions { Convention = convention, Implementation = implementation });
        return () =>
        {
            using var scope = NewDisposeScope();
            var x = streams.detach().requires_grad_();
            connection.forward(x, h => h.matmul(w).tanh()).sum().backward();
        };
    }
}
