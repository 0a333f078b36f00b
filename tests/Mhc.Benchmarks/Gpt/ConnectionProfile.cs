using Mhc.Runtime;
using Mhc.Runtime.Ops;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// Where an mHC step's extra time goes: each part of one connection timed alone at the GPT's token and
/// width shapes, forward and backward (backward = forward+backward − forward, medians of interleaved
/// rounds), scaled to the 2·layers connections of a step and set against the measured step times.
/// </summary>
internal static class ConnectionProfile
{
    private const int Streams = 4;

    /// <summary>One timed piece: makes fresh leaves, runs the op, and back-propagates the given gradients.</summary>
    private sealed record Part(string Name, Tensor[] Inputs, Func<Tensor[], Tensor[]> Op, Tensor[] Gradients, int PerStep)
    {
        public Action Forward => () =>
        {
            using var scope = NewDisposeScope();
            Op(Leaves());
        };

        public Action ForwardBackward => () =>
        {
            using var scope = NewDisposeScope();
            autograd.backward(Op(Leaves()), Gradients);
        };

        private Tensor[] Leaves() => Inputs.Select(t => t.detach().requires_grad_()).ToArray();
    }

    public static void Print(GptShape shape, BenchmarkSettings settings, StepTimes steps)
    {
        using var scope = NewDisposeScope();
        long tokens = shape.Tokens, c = shape.Width;
        int connections = 2 * shape.Layers;
        var x = HyperStreams.Expand(randn(tokens, c), Streams) + 0.1 * randn(tokens, Streams, c);
        var phi = 0.02 * randn(Streams * c, Streams * Streams + 2 * Streams);
        var bias = randn(Streams * Streams + 2 * Streams);
        var alpha = full(3, 0.01);
        var pre = rand(tokens, Streams).sigmoid();
        var post = 2 * rand(tokens, Streams).sigmoid();
        var logits = randn(tokens, Streams, Streams);
        var hRes = MhcOps.Sinkhorn(logits, 20).detach();
        var f = randn(tokens, c);
        var single = randn(tokens, c);
        var connection = new HyperConnection("profile", c, new HyperConnectionOptions());

        Part[] parts =
        [
            new("coefficients (RMS norm, v·φ, sigmoids)", [x, phi, bias, alpha],
                a => { var (p, q, r) = MhcOps.Coefficients(a[0], a[1], a[2], a[3]); return [p, q, r]; },
                [randn(tokens, Streams), randn(tokens, Streams), randn(tokens, Streams, Streams)], connections),
            new("Sinkhorn, t = 20", [logits], a => [MhcOps.Sinkhorn(a[0], 20)], [randn(tokens, Streams, Streams)], connections),
            new("pre-mix", [x, pre], a => [MhcOps.PreMix(a[0], a[1])], [randn(tokens, c)], connections),
            new("merge (res-mix, post-mix, add)", [x, hRes, post, f], a => [MhcOps.Merge(a[0], a[1], a[2], a[3])],
                [randn(tokens, Streams, c)], connections),
            new("whole connection, identity branch", [x], a => [connection.forward(a[0], h => h)], [randn(tokens, Streams, c)], connections),
            new("plain residual add x + f (replaced)", [single, f], a => [a[0] + a[1]], [randn(tokens, c)], connections),
            new("Expand + Reduce (once per step)", [single], a => [HyperStreams.Reduce(HyperStreams.Expand(a[0], Streams))],
                [randn(tokens, c)], 1),
        ];
        var times = Harness.MedianMilliseconds(parts.SelectMany(p => new[] { p.Forward, p.ForwardBackward }).ToList(),
            settings.Warmup, settings.Rounds);

        double overhead = steps.Mhc - steps.Residual;
        Console.WriteLine($"  Profile: one connection = {tokens} tokens × {Streams} streams × {c}; a step has {connections} connections.");
        Console.WriteLine($"  mHC step {Harness.Ms(steps.Mhc)} ms, residual step {Harness.Ms(steps.Residual)} ms, overhead {Harness.Ms(overhead)} ms");
        Console.WriteLine("                                            fwd ms    bwd ms   per step ms   % of mHC step   % of overhead");
        for (int i = 0; i < parts.Length; i++)
        {
            double forward = times[2 * i], backward = Math.Max(0, times[2 * i + 1] - forward);
            double perStep = (forward + backward) * parts[i].PerStep;
            Console.WriteLine($"    {parts[i].Name,-38} {Harness.Ms(forward),8}  {Harness.Ms(backward),8}  {Harness.Ms(perStep),12}  " +
                              $"{Percent(perStep / steps.Mhc),14}  {Percent(perStep / overhead),14}");
        }
        PrintFloor(shape, settings, overhead, times[2 * Array.FindIndex(parts, p => p.Name.StartsWith("whole")) + 1]);
        connection.Dispose();
    }

    /// <summary>
    /// The least an mHC step can cost over the residual one on this machine: the bytes a connection must move
    /// (MHC-SPEC §7, as if every pass were fused: forward reads x for the mix and x and f for the merge and writes
    /// h and the new streams, 14·C floats a token; backward reads ∂out, x, f and ∂h and writes ∂x and ∂f, 15·C)
    /// at the bandwidth a large copy reaches here, plus the coefficients' three products (2·tokens·nC·m FLOPs each)
    /// at the speed libtorch's BLAS reaches on the model's own GEMM. The coefficient products' own BLAS speed
    /// says how far from that speed their thin shape (m = 24 columns) is.
    /// </summary>
    private static void PrintFloor(GptShape shape, BenchmarkSettings settings, double overhead, double wholeConnection)
    {
        using var scope = NewDisposeScope();
        long tokens = shape.Tokens, c = shape.Width, m = Streams * Streams + 2 * Streams;
        int connections = 2 * shape.Layers;
        var big = randn(16L << 20); // 64 MiB, beyond L2, as the stream states of a step together are
        var a = randn(tokens, c);
        var up = randn(c, 4 * c);
        var v = randn(tokens, Streams * c);
        var phi = randn(Streams * c, m);
        var times = Harness.MedianMilliseconds(
            [() => { using var copy = big.clone(); }, () => { using var y = a.mm(up); }, () => { using var y = v.mm(phi); }],
            settings.Warmup, Math.Max(5, settings.Rounds));
        double bandwidth = 2.0 * big.numel() * 4 / (times[0] / 1000);               // bytes/s, read + write
        double modelGemm = 2.0 * tokens * c * 4 * c / (times[1] / 1000);           // FLOP/s
        double thinGemm = 2.0 * tokens * Streams * c * m / (times[2] / 1000);
        double bytes = (14 + 15) * c * 4.0 * tokens;
        double flops = 3 * 2.0 * tokens * Streams * c * m;
        double floor = (bytes / bandwidth + flops / modelGemm) * 1000;               // ms per connection
        Console.WriteLine($"  Machine: copy {bandwidth / 1e9:0.0} GB/s; BLAS {modelGemm / 1e9:0.0} GFLOP/s on the MLP's [{tokens}×{c}]·[{c}×{4 * c}], " +
                          $"{thinGemm / 1e9:0.0} GFLOP/s on the coefficients' [{tokens}×{Streams * c}]·[{Streams * c}×{m}]");
        Console.WriteLine($"  Floor of one connection (fwd + bwd): {bytes / 1e6:0.0} MB at copy speed + {flops / 1e6:0} MFLOP at the MLP's speed = {Harness.Ms(floor)} ms; " +
                          $"measured {Harness.Ms(wholeConnection)} ms ({Harness.Ratio(wholeConnection / floor)} the floor)");
        Console.WriteLine($"  Floor of the step's overhead: {Harness.Ms(floor * connections)} ms for {connections} connections " +
                          $"(measured overhead {Harness.Ms(overhead)} ms, {Harness.Ratio(overhead / (floor * connections))} the floor)");
    }

    private static string Percent(double share) => double.IsFinite(share) ? $"{100 * share:0.0}%" : "–";
}
