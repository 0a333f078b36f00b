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
        connection.Dispose();
    }

    private static string Percent(double share) => double.IsFinite(share) ? $"{100 * share:0.0}%" : "–";
}
