using Gpt.Trainer.Training;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// The same GPT trained and sampled with a plain residual, with 4 streams but no mixing, and with mHC
/// (n = 4; kernels on libtorch's OpenMP team as shipped, on .NET's thread pool, and on the calling thread only), side by side: training-step
/// time as ratios to the residual model with the overhead attributed to its parts, then generation speed.
/// </summary>
internal static class GptSuite
{
    private const long Seed = 1;

    private static readonly GptShape TrainerDefault = new("trainer default", Layers: 4, Width: 128, Heads: 4, Context: 64, Batch: 16);
    private static readonly GptShape Larger = new("larger", Layers: 6, Width: 256, Heads: 8, Context: 128, Batch: 16);
    // Where the block's matrix work dwarfs the coefficients' (16/C of it), closer to the paper's widths.
    private static readonly GptShape Wide = new("wide", Layers: 4, Width: 768, Heads: 12, Context: 128, Batch: 4);

    private static readonly GptVariant[] Variants =
        [GptVariant.Residual, GptVariant.WideResidual, GptVariant.Mhc, GptVariant.MhcReference, GptVariant.MhcDotNetPool, GptVariant.MhcOneThread, GptVariant.MhcRecompute];

    private static readonly (string Name, GptShape Shape)[] Shapes = [("default", TrainerDefault), ("larger", Larger), ("wide", Wide)];

    /// <summary>The names <c>--shape</c> takes.</summary>
    public static IEnumerable<string> ShapeNames => Shapes.Select(s => s.Name);

    /// <param name="only">One shape's name (<see cref="ShapeNames"/>), or null: the default shape in a quick run, else all three.</param>
    public static void Run(BenchmarkSettings settings, string? only = null)
    {
        Console.WriteLine($"GPT end to end — {Environment.ProcessorCount} cores, torch threads {get_num_threads()}, " +
                          $"kernel chunks on {(Mhc.Runtime.Kernels.TorchThreads.Available ? "libtorch's OpenMP team" : ".NET's thread pool (no libgomp found)")}, " +
                          $"{(settings.Quick ? "quick" : "full")} run, medians of {settings.Rounds} interleaved rounds, " +
                          $"{(settings.ReusesFreedMemory ? "freed memory reused (CpuAllocator.ReuseFreedMemory)" : "default allocator")}\n");
        var shapes = only is not null ? Shapes.Where(s => s.Name == only).Select(s => s.Shape)
            : settings.Quick ? [TrainerDefault] : Shapes.Select(s => s.Shape);
        foreach (var shape in shapes)
        {
            Console.WriteLine(shape);
            var models = Variants.Select(v => v.Create(shape, Seed)).ToArray();
            var steps = models.Select(m => new TrainingStep(m, shape, Seed)).ToArray();
            var clean = MeasureTraining(steps, settings);
            int mhc = Array.IndexOf(Variants, GptVariant.Mhc);
            OverheadAttribution.Print(shape, settings, clean, steps[0], steps[mhc], models[mhc]);
            foreach (var step in steps) step.Dispose();
            MeasureGeneration(shape, models, settings);
            foreach (var model in models) model.Dispose();
            Console.WriteLine();
        }
    }

    private static OverheadAttribution.CleanSteps MeasureTraining(TrainingStep[] steps, BenchmarkSettings settings)
    {
        // Equal weights and a function-preserving conversion give equal first losses: the variants do the same work.
        var firstLosses = steps.Select(s => s.Run()).ToArray();
        var rounds = Harness.Rounds(steps.Select((s, v) => Variants[v].Around(() => s.Run())).ToList(), settings.Warmup, settings.Rounds);
        var times = rounds.Select(Harness.Median).ToArray();
        Console.WriteLine("  Training step (forward + backward + AdamW)       ms     vs residual (per-round IQR)   first loss");
        for (int v = 0; v < Variants.Length; v++)
            Console.WriteLine($"    {Variants[v].Name,-42} {Harness.Ms(times[v]),8}   {Harness.RatioWithSpread(rounds[v], rounds[0]),-26}   {firstLosses[v]:0.0000}");
        return new(times[0], times[Array.IndexOf(Variants, GptVariant.WideResidual)], times[Array.IndexOf(Variants, GptVariant.Mhc)]);
    }

    private static void MeasureGeneration(GptShape shape, nn.Module<Tensor, Tensor>[] models, BenchmarkSettings settings)
    {
        // Twice the context, so the cache fills and restarts, as in a long sample.
        int tokens = settings.Quick ? (int)shape.Context / 2 : 2 * (int)shape.Context;
        // The trainer's own sampler, from a one-token prompt; a fixed seed keeps the variants' windows comparable.
        Action Sample(nn.Module<Tensor, Tensor> model, bool useCache) =>
            () => Sampler.Sample(model, [0L], tokens, shape.Context, temperature: 1.0, seed: 7, useCache);
        int mhc = Array.IndexOf(Variants, GptVariant.Mhc);
        // As many rounds as training gets: a sample of a few hundred tokens is short enough for the machine's slow drifts to
        // move a round by 10 %, and three rounds (this suite's count before) left the median to one of them.
        var rounds = Harness.Rounds(models.Select((m, v) => Variants[v].Around(Sample(m, useCache: true))).ToList(),
            Math.Min(1, settings.Warmup), Math.Max(3, settings.Rounds));
        Console.WriteLine($"  Generation, {tokens} tokens (eval, no_grad, KV cache)   tokens/s  vs residual (per-round IQR)");
        for (int v = 0; v < Variants.Length; v++)
            Console.WriteLine($"    {Variants[v].Name,-42} {tokens / (Harness.Median(rounds[v]) / 1000),9:0.0}   {Harness.RatioWithSpread(rounds[0], rounds[v])}");

        // The ratio the targets name, in rounds of its own pair: at a decoding step every kernel runs inline, so the three
        // mHC variants above run the same code, and their ratios spread as widely as a seven-round median moves; three
        // times the rounds of two samples each cost about as much as three to five more rounds of the whole table.
        int pairedRounds = 3 * Math.Max(3, settings.Rounds);
        var paired = Harness.Rounds([Sample(models[0], true), Sample(models[mhc], true)], 0, pairedRounds);
        Console.WriteLine($"    mHC / residual, {pairedRounds} rounds of the pair alone         {Harness.RatioWithSpread(paired[0], paired[1])}");

        // What the cache itself gains: the residual and mHC models with it and re-running the whole window per token, as
        // the sampler did before its cache, in rounds of their own (the uncached runs are the suite's slowest).
        var cacheRounds = Harness.Rounds([Sample(models[0], true), Sample(models[mhc], true), Sample(models[0], false), Sample(models[mhc], false)],
            Math.Min(1, settings.Warmup), Math.Max(3, settings.Rounds / 3));
        Console.WriteLine($"    residual, whole window per token           {tokens / (Harness.Median(cacheRounds[2]) / 1000),9:0.0}   " +
                          $"{Harness.RatioWithSpread(cacheRounds[0], cacheRounds[2])}");
        Console.WriteLine($"    mHC (n = 4), whole window per token        {tokens / (Harness.Median(cacheRounds[3]) / 1000),9:0.0}   " +
                          $"{Harness.RatioWithSpread(cacheRounds[0], cacheRounds[3])}");
        Console.WriteLine($"    KV cache speed-up: residual {Harness.RatioWithSpread(cacheRounds[2], cacheRounds[0])}, " +
                          $"mHC {Harness.RatioWithSpread(cacheRounds[3], cacheRounds[1])}");
    }
}
