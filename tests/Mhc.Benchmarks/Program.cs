using Mhc.Benchmarks;
using Mhc.Benchmarks.Gpt;
using Mhc.Benchmarks.Memory;
using Mhc.Runtime;
using Mhc.Runtime.Ops;
using TorchSharp;
using static TorchSharp.torch;

// Fused vs reference mHC ops and an mHC connection vs a plain residual add, measured side by side.
//   dotnet run -c Release --project tests/Mhc.Benchmarks [-- --quick]
// Other suites by name:
//   -- memory [--quick] [--reuse-allocator]   peak memory of GPT training steps (Memory/MemorySuite.cs)
//   -- gpt [--quick] [--rounds N]             the GPT trained and sampled end to end, residual vs mHC, the overhead attributed (Gpt/GptSuite.cs);
//                                             --rounds: every shape, N rounds after one warm-up (a loaded machine's budget);
//                                             --shape default|larger|wide: that shape alone
//   -- conventions [--quick]                  MHC-SPEC vs the Megatron-LM and DeepSeek-V4 conventions (Conventions/ConventionSuite.cs)
//   -- calls [--quick]                        one connection call under no_grad at decoding token counts, µs (Calls/CallCostSuite.cs)
if (args.FirstOrDefault() == "memory")
{
    MemorySuite.Run(args[1..]);
    return;
}
bool quick = args.Contains("--quick");
// Both sides of every comparison run with the same allocator; --default-allocator measures glibc's default.
bool reuse = !args.Contains("--default-allocator") && CpuAllocator.ReuseFreedMemory();
int warmup = quick ? 1 : 3, rounds = quick ? 3 : 15;
int roundsAt = Array.IndexOf(args, "--rounds");
if (roundsAt >= 0)
{
    if (roundsAt + 1 >= args.Length || !int.TryParse(args[roundsAt + 1], out rounds) || rounds < 1)
    {
        Console.Error.WriteLine("--rounds takes a positive number of rounds, e.g. --rounds 5.");
        Environment.Exit(2);
    }
    warmup = 1;
}
if (args.Contains("gpt"))
{
    int shapeAt = Array.IndexOf(args, "--shape");
    string? shape = shapeAt >= 0 && shapeAt + 1 < args.Length ? args[shapeAt + 1] : null;
    if (shapeAt >= 0 && (shape is null || !GptSuite.ShapeNames.Contains(shape)))
    {
        Console.Error.WriteLine($"--shape takes one of {string.Join(", ", GptSuite.ShapeNames)}, e.g. --shape larger.");
        Environment.Exit(2);
    }
    GptSuite.Run(new BenchmarkSettings(quick, warmup, rounds, reuse), shape);
    return;
}
if (args.Contains("calls"))
{
    Mhc.Benchmarks.Calls.CallCostSuite.Run(new BenchmarkSettings(quick, warmup, rounds, reuse));
    return;
}
if (args.Contains("conventions"))
{
    Mhc.Benchmarks.Conventions.ConventionSuite.Run(new BenchmarkSettings(quick, warmup, rounds, reuse));
    return;
}
torch.manual_seed(0);
Console.WriteLine($"Mhc benchmarks — {Environment.ProcessorCount} cores, torch threads {torch.get_num_threads()}, " +
                  $"{(quick ? "quick" : "full")} run ({rounds} rounds, median ms of forward+backward), " +
                  $"{(reuse ? "freed memory reused (CpuAllocator.ReuseFreedMemory)" : "default allocator")}\n");

Console.WriteLine("Sinkhorn, n = 4, t = 20               fused ms   reference ms   reference/fused");
foreach (long tokens in quick ? new long[] { 512, 8192 } : new long[] { 512, 8192, 65536 })
{
    using var logits = randn(tokens, 4, 4) * 2;
    Action Run(OpsImplementation impl) => () =>
    {
        using var scope = NewDisposeScope();
        var x = logits.detach().requires_grad_();
        MhcOps.Sinkhorn(x, 20, impl).sum().backward();
    };
    int r = tokens >= 65536 ? Math.Max(3, rounds / 3) : rounds;
    var t = Harness.MedianMilliseconds(new[] { Run(OpsImplementation.Fused), Run(OpsImplementation.Reference) }, warmup, r);
    Console.WriteLine($"  {tokens,6} tokens                      {Harness.Ms(t[0]),9}   {Harness.Ms(t[1]),12}   {Harness.Ratio(t[1] / t[0]),15}");
}

Console.WriteLine("\nWhole mHC connection, n = 4, 4096 tokens, branch tanh(h·W)");
Console.WriteLine("                                      fused ms   reference ms   reference/fused");
foreach (long channels in new long[] { 256, 768 })
{
    const long tokens = 4096;
    using var w = randn(channels, channels) / Math.Sqrt(channels);
    using var streams = randn(tokens, 4, channels);
    Action Run(OpsImplementation impl)
    {
        var connection = new HyperConnection("hc", channels, new HyperConnectionOptions { Implementation = impl });
        return () =>
        {
            using var scope = NewDisposeScope();
            var x = streams.detach().requires_grad_();
            connection.forward(x, h => h.matmul(w).tanh()).sum().backward();
        };
    }
    var t = Harness.MedianMilliseconds(new[] { Run(OpsImplementation.Fused), Run(OpsImplementation.Reference) }, warmup, rounds);
    Console.WriteLine($"  C = {channels,4}                            {Harness.Ms(t[0]),9}   {Harness.Ms(t[1]),12}   {Harness.Ratio(t[1] / t[0]),15}");
}

Console.WriteLine("\nmHC connection vs plain residual add, same branch Linear(C, C), 4096 tokens");
Console.WriteLine("                               residual ms   mHC (n = 4) ms   mHC/residual");
foreach (long channels in new long[] { 256, 768 })
{
    const long tokens = 4096;
    using var branch = nn.Linear(channels, channels);
    using var single = randn(tokens, channels);
    using var streams = HyperStreams.Expand(single, 4);
    using var connection = new HyperConnection("hc", channels, new HyperConnectionOptions());
    Action residual = () =>
    {
        using var scope = NewDisposeScope();
        var x = single.detach().requires_grad_();
        (x + branch.forward(x)).sum().backward();
    };
    Action mhc = () =>
    {
        using var scope = NewDisposeScope();
        var x = streams.detach().requires_grad_();
        connection.forward(x, branch).sum().backward();
    };
    var t = Harness.MedianMilliseconds(new[] { residual, mhc }, warmup, rounds);
    Console.WriteLine($"  C = {channels,4}                     {Harness.Ms(t[0]),9}   {Harness.Ms(t[1]),14}   {Harness.Ratio(t[1] / t[0]),12}");
}
