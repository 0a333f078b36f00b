using System.Diagnostics;
using Mhc.Runtime;
using Mhc.Runtime.Diagnostics;
using static Mhc.Runtime.Diagnostics.TimedPart;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// Where the mHC step's extra time goes. Every part is measured directly: the connections' regions timed inside
/// real mHC training steps (<see cref="ConnectionTimings"/>: kernels, BLAS, waits on the kernel threads, the nodes'
/// work around their kernels, autograd's node set-up, the connection's own code, the engine's gaps between the
/// connections' backward nodes), and what runs once per step or in the residual model instead, timed alone at the
/// step's shapes (Expand and Reduce, AdamW over φ, b and α, the residual adds mHC replaces). Work both models do
/// alike (the blocks, embeddings, head) is left out, not subtracted: the difference of two whole steps' shares
/// would carry both steps' noise. The parts' sum is set against the measured mHC − residual difference; what
/// remains is what no part names — the wider state's effect on that common work among it.
/// </summary>
internal static class OverheadAttribution
{
    private const int Streams = 4, Projections = Streams * Streams + 2 * Streams;

    /// <summary>Median step times: residual, 4-stream residual, mHC.</summary>
    internal sealed record CleanSteps(double Residual, double Wide, double Mhc);

    private sealed record Line(string Name, double Milliseconds, int Depth = 2);

    public static void Print(GptShape shape, BenchmarkSettings settings, CleanSteps table, TrainingStep residualStep, TrainingStep mhcStep,
        nn.Module mhcModel)
    {
        var profiled = Profile(residualStep, mhcStep, settings);
        var alone = TimeAlone(shape, mhcModel, settings);
        var speeds = MachineSpeeds.Measure(shape, Streams, Projections, settings);
        int connections = 2 * shape.Layers;
        var (f, b) = (profiled.Mhc.Forward, profiled.Mhc.Backward);
        double measured = profiled.PlainMhc - profiled.Residual;

        double forwardKernels = ForwardKernels(f);
        double forwardNodes = f[MixForward] + f[MergeForward], applies = f[MixApply] + f[MergeApply];
        double backwardKernels = BackwardKernels(b);
        double backwardNodes = b[MixBackward] + b[MergeBackward];
        Line[] forward =
        [
            new($"kernels: coefficients with the pre-mix {Harness.Ms(f[CoefficientsKernel] + f[PreMixKernel])}, Sinkhorn {Harness.Ms(f[SinkhornKernel])}, " +
                $"merge {Harness.Ms(f[MergeKernel])}, less their threads' waits", forwardKernels - f[ChunkWaiting]),
            new("waits on the kernel threads (team wake-up, uneven chunks)", f[ChunkWaiting]),
            new("the two nodes' work around their kernels (outputs allocated, tensors saved, context data)", forwardNodes - forwardKernels),
            new("autograd's node set-up around the two forward callbacks (TorchSharp's apply)", applies - forwardNodes),
            new("the connection's own code around the nodes (dtype, contiguity, scopes, stream tracker, branch call)",
                f[Connection] - f[Branch] - applies - f[Markers]),
        ];
        Line[] backward =
        [
            new($"kernels: the mix's one pass (∂H_pre, ∂M, Sinkhorn, chain rule, ∂x and ∂φ) {Harness.Ms(b[MixBackwardKernel])}, " +
                $"merge {Harness.Ms(b[MergeBackwardKernel])}, less their threads' waits",
                backwardKernels - b[ChunkWaiting]),
            new("waits on the kernel threads", b[ChunkWaiting]),
            new("the two nodes' work around their kernels (saved tensors unpacked, gradients allocated and handed over)",
                backwardNodes - backwardKernels),
            new("autograd's engine between the connections' nodes (scheduling, φ/b/α gradients accumulated)", b[EngineGaps]),
        ];
        Line[] lines =
        [
            new("mHC's connections, forward (timed inside the profiled steps)", forward.Sum(l => l.Milliseconds), 1),
            .. forward,
            new("backward", backward.Sum(l => l.Milliseconds), 1),
            .. backward,
            new("Expand and Reduce, forward and backward (once per step, timed alone)", alone.ExpandReduce, 1),
            new("zero_grad and AdamW over the connections' φ, b, α (timed alone)", alone.Optimizer, 1),
            new($"less the residual model's {connections} adds x + f, forward and backward (timed alone)", -alone.ResidualAdds, 1),
        ];
        double sum = lines.Where(l => l.Depth == 1).Sum(l => l.Milliseconds);

        Console.WriteLine($"  Overhead attributed (ms per step; {profiled.Rounds} interleaved rounds of a residual step, a plain and a profiled mHC step; " +
                          "parts inside the mHC step: means over its middle half of rounds):");
        Console.WriteLine($"    measured: mHC − residual = {Harness.Ms(measured)} ms ({Harness.Ratio(profiled.PlainMhc / profiled.Residual)}; " +
                          $"the training table's {Harness.Ms(table.Mhc - table.Residual)}); profiling's own cost: profiled − plain mHC step " +
                          $"{Harness.Ms(profiled.Mhc.Milliseconds - profiled.PlainMhc)} (the branch markers' set-up, left out of the parts: {Harness.Ms(f[Markers])})");
        foreach (var line in lines)
            Console.WriteLine($"    {new string(' ', 2 * (line.Depth - 1))}{line.Name,-100} {Harness.Ms(line.Milliseconds),8}  {Percent(line.Milliseconds / measured),7}");
        Console.WriteLine($"    sum of the parts: {Harness.Ms(sum)} ms = {Percent(sum / measured)} of the measured difference; not attributed " +
                          $"{Harness.Ms(measured - sum)} ms (the common work's slow-down in the wider model, and the rounds' noise)");
        Console.WriteLine($"    the branches inside the mHC step (same work as the residual's): forward {Harness.Ms(f[Branch])} ms, backward {Harness.Ms(b[BranchBackward])} ms");

        double faults = profiled.Mhc.MinorFaults - profiled.ResidualFaults;
        Console.WriteLine($"    page faults per step: residual {profiled.ResidualFaults:N0}, mHC {profiled.Mhc.MinorFaults:N0}; the {faults:N0} more at " +
                          $"{speeds.PageFaultSeconds * 1e6:0.00} µs each (fresh pages, zeroing included) ≈ {Harness.Ms(faults * speeds.PageFaultSeconds * 1000)} ms, " +
                          "inside the parts above");
        PrintFloor(shape, speeds, connections, profiled.Mhc, profiled.Residual, profiled.PlainMhc);
    }

    /// <summary>Medians of the residual and the plain mHC steps, and the profiled mHC steps' parts, from the same rounds.</summary>
    private sealed record Profiled(double Residual, long ResidualFaults, double PlainMhc, ProfiledStep Mhc, int Rounds);

    /// <summary>
    /// Rounds of a residual step, a plain mHC step and a profiled one. The parts are means over the middle half of the
    /// rounds by the profiled step's time (a step is now and then far slower than its neighbours on this machine;
    /// means keep the parts additive).
    /// </summary>
    private static Profiled Profile(TrainingStep residualStep, TrainingStep mhcStep, BenchmarkSettings settings)
    {
        for (int i = 0; i < settings.Warmup; i++)
            mhcStep.RunProfiled();
        int rounds = Math.Max(8, 3 * settings.Rounds);
        var mhc = new ProfiledStep[rounds];
        var residual = new ProfiledStep[rounds];
        var plain = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            residual[r] = Collected(residualStep.RunProfiled);
            plain[r] = Collected(() => Timed(mhcStep.Run));
            mhc[r] = Collected(mhcStep.RunProfiled);
        }
        var middle = mhc.OrderBy(s => s.Milliseconds).Skip(rounds / 4).Take(rounds - 2 * (rounds / 4)).ToList();
        return new Profiled(Harness.Median(residual.Select(s => s.Milliseconds)), (long)residual.Average(s => s.MinorFaults),
            Harness.Median(plain), ProfiledStep.Mean(middle), rounds);
    }

    private sealed record Alone(double ExpandReduce, double Optimizer, double ResidualAdds);

    /// <summary>What a step does outside the connections, or the residual model instead of them, each timed alone (medians).</summary>
    private static Alone TimeAlone(GptShape shape, nn.Module mhcModel, BenchmarkSettings settings)
    {
        using var scope = NewDisposeScope();
        var single = randn(shape.Batch, shape.Context, shape.Width);
        var gradient = randn(shape.Batch, shape.Context, shape.Width);
        var times = Harness.MedianMilliseconds(
        [
            () =>
            {
                using var inner = NewDisposeScope();
                var leaf = single.detach().requires_grad_();
                HyperStreams.Reduce(HyperStreams.Expand(leaf, Streams)).backward([gradient]);
            },
            () =>
            {
                using var inner = NewDisposeScope();
                var (x, f) = (single.detach().requires_grad_(), single.detach().requires_grad_());
                (x + f).backward([gradient]);
            },
        ], settings.Warmup, Math.Max(5, settings.Rounds));
        return new Alone(times[0], OptimizerStep(mhcModel, settings), times[1] * 2 * shape.Layers);
    }

    /// <summary>zero_grad and one AdamW step over tensors shaped as the model's connection parameters, with gradients, median ms.</summary>
    private static double OptimizerStep(nn.Module mhcModel, BenchmarkSettings settings)
    {
        using var scope = NewDisposeScope();
        var parameters = HyperConnections.Find(mhcModel).SelectMany(c => c.parameters())
            .Select(p => new TorchSharp.Modules.Parameter(randn(p.shape))).ToList();
        var gradients = parameters.Select(p => randn(p.shape)).ToList();
        using var optimizer = optim.AdamW(parameters, lr: 1e-3, weight_decay: 0.01);
        var samples = new double[Math.Max(5, settings.Rounds) + settings.Warmup];
        for (int i = 0; i < samples.Length; i++)
        {
            using (var inner = NewDisposeScope())
                parameters.Zip(gradients, (p, g) => (p * g).sum()).Aggregate((a, c) => a + c).backward();
            var clock = Stopwatch.StartNew();
            optimizer.step();
            optimizer.zero_grad();
            samples[i] = clock.Elapsed.TotalMilliseconds;
        }
        return Harness.Median(samples.Skip(settings.Warmup));
    }

    private static T Collected<T>(Func<T> run)
    {
        Harness.CollectGarbage();
        return run();
    }

    /// <summary>The forward's fused kernels and BLAS product (the pre-mix's own kernel where it ran alone), ms.</summary>
    private static double ForwardKernels(PhaseTimes f) => f[CoefficientsKernel] + f[SinkhornKernel] + f[PreMixKernel] + f[MergeKernel];

    /// <summary>The backward's fused kernels (the coefficients' products inside the mix's pass), ms.</summary>
    private static double BackwardKernels(PhaseTimes b) => b[MixBackwardKernel] + b[MergeBackwardKernel];

    private static double Timed(Func<float> step)
    {
        var clock = Stopwatch.StartNew();
        step();
        return clock.Elapsed.TotalMilliseconds;
    }

    /// <summary>
    /// The kernels against what this machine allows (MHC-SPEC §7, as if every pass were fused): the bytes a
    /// connection must move (forward: x for the mix, x and f for the merge, h and the new streams out, 14·C floats a
    /// token; backward: ∂out, x, f and ∂h in, ∂x and ∂f out, 15·C) at the copy bandwidth, plus the coefficients'
    /// products (one forward, two backward, 2·tokens·nC·m FLOPs each) at the threads' multiply-add peak. (The model's
    /// GEMM speed is no bound here: the forward's tiles run the coefficients' product faster.)
    /// </summary>
    private static void PrintFloor(GptShape shape, MachineSpeeds speeds, int connections, ProfiledStep mhc, double residual, double plainMhc)
    {
        long tokens = shape.Tokens, c = shape.Width;
        double gemm = 2.0 * tokens * Streams * c * Projections;
        double forwardFloor = (14 * c * 4.0 * tokens / speeds.CopyBytesPerSecond + gemm / speeds.PeakFlops) * 1000;
        double backwardFloor = (15 * c * 4.0 * tokens / speeds.CopyBytesPerSecond + 2 * gemm / speeds.PeakFlops) * 1000;
        var f = mhc.Forward;
        var b = mhc.Backward;
        double forwardKernels = ForwardKernels(f) / connections;
        double backwardKernels = BackwardKernels(b) / connections;
        Console.WriteLine($"  Machine: copy {speeds.CopyBytesPerSecond / 1e9:0.0} GB/s; BLAS {speeds.ModelGemmFlops / 1e9:0.0} GFLOP/s on the MLP's " +
                          $"[{tokens}×{c}]·[{c}×{4 * c}], {speeds.CoefficientGemmFlops / 1e9:0.0} GFLOP/s on the coefficients' [{tokens}×{Streams * c}]·[{Streams * c}×{Projections}]; " +
                          $"multiply-add peak {speeds.PeakFlops / 1e9:0.0} GFLOP/s on {get_num_threads()} threads");
        Console.WriteLine($"  Kernels of one connection against the floor: forward {Harness.Ms(forwardKernels)} ms (floor {Harness.Ms(forwardFloor)}, " +
                          $"{Harness.Ratio(forwardKernels / forwardFloor)}), backward {Harness.Ms(backwardKernels)} ms (floor {Harness.Ms(backwardFloor)}, " +
                          $"{Harness.Ratio(backwardKernels / backwardFloor)})");
        double floor = (forwardFloor + backwardFloor) * connections, measured = plainMhc - residual;
        Console.WriteLine($"  Floor of the step's overhead: {Harness.Ms(floor)} ms for {connections} connections " +
                          $"(measured overhead {Harness.Ms(measured)} ms, {Harness.Ratio(measured / floor)} the floor): " +
                          $"mHC / residual at the floor {Harness.Ratio((residual + floor) / residual)}, measured {Harness.Ratio(plainMhc / residual)}");
    }

    private static string Percent(double share) => double.IsFinite(share) ? $"{100 * share:0.0}%" : "–";
}
