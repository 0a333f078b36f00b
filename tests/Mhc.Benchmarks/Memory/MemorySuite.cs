using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Mhc.Benchmarks.Gpt;

namespace Mhc.Benchmarks.Memory;

/// <summary>
/// Peak memory of a GPT training step, residual vs mHC (n = 4) with and without recompute, each variant in a fresh child process
/// so that no variant inherits another's heap. See docs/benchmarks.md, "Memory".
///   dotnet run -c Release --project tests/Mhc.Benchmarks -- memory [--quick] [--reuse-allocator]
/// --reuse-allocator measures under CpuAllocator.ReuseFreedMemory, as the GPT trainer runs: freed memory
/// then stays resident, so the phase peaks read about zero and the level between steps holds them.
/// </summary>
internal static class MemorySuite
{
    private const string ChildFlag = "--child";
    private const string ReuseFlag = "--reuse-allocator";

    private static readonly GptShape[] Shapes =
    [
        new("memory", Layers: 4, Width: 128, Heads: 4, Context: 64, Batch: 32),
        new("memory", Layers: 4, Width: 256, Heads: 8, Context: 128, Batch: 16),
        new("memory", Layers: 12, Width: 256, Heads: 8, Context: 128, Batch: 16),
    ];

    private static readonly GptVariant[] Variants = [GptVariant.Residual, GptVariant.Mhc, GptVariant.MhcRecompute];

    public static void Run(string[] args)
    {
        if (args.Length > 0 && args[0] == ChildFlag)
        {
            RunChild(args[1..]);
            return;
        }

        var shapes = args.Contains("--quick") ? Shapes[..1] : Shapes;
        bool reuse = args.Contains(ReuseFlag);
        Console.WriteLine("GPT training step (forward + cross-entropy + backward + AdamW), float32, one process per variant, " +
                          (reuse ? "CpuAllocator.ReuseFreedMemory (freed memory stays resident)." : "every block of 64 KiB or more unmapped when freed."));
        Console.WriteLine("MiB resident above the between-steps level (model, gradients, AdamW moments); each phase its own peak.\n");
        var measured = new Dictionary<GptShape, Dictionary<GptVariant, StepMemory>>();
        Console.WriteLine("shape                    variant            model  grads+adam  forward  after fwd  backward  adam step   peak   /residual");
        foreach (var shape in shapes)
        {
            var results = Variants.ToDictionary(v => v, v => MeasureInChild(v, shape, reuse));
            measured[shape] = results;
            double residualPeak = results[GptVariant.Residual].Peak;
            foreach (var (variant, m) in results)
                Console.WriteLine($"{shape.Compact,-24} {variant.Name,-16} {MiB(m.Model),7} {MiB(m.BetweenSteps - m.Model),11} {MiB(m.Forward),8} {MiB(m.AfterForward),10}" +
                                  $" {MiB(m.Backward),9} {MiB(m.OptimizerStep),10} {MiB(m.Peak),6} {Harness.Ratio(m.Peak / residualPeak),11}");
        }
        PrintPerLayer(measured);
    }

    /// <summary>Peak bytes per transformer layer, from two measured shapes that differ only in depth.</summary>
    private static void PrintPerLayer(Dictionary<GptShape, Dictionary<GptVariant, StepMemory>> measured)
    {
        foreach (var deep in measured.Keys)
            foreach (var shallow in measured.Keys.Where(s => s.Layers < deep.Layers && s == deep with { Layers = s.Layers }))
            {
                int layers = deep.Layers - shallow.Layers;
                Console.Write($"\nPeak per layer ({shallow.Compact} → L={deep.Layers}):");
                foreach (var variant in measured[deep].Keys)
                    Console.Write($"  {variant.Name} {MiB((double)(measured[deep][variant].Peak - measured[shallow][variant].Peak) / layers)} MiB");
                Console.WriteLine();
            }
    }

    private static void RunChild(string[] args)
    {
        bool allocatorSet = args.Contains(ReuseFlag) ? Mhc.Runtime.CpuAllocator.ReuseFreedMemory() : ProcessMemory.ReturnFreedBlocks();
        if (!allocatorSet)
            throw new PlatformNotSupportedException("The memory suite needs glibc's mallopt and /proc (Linux).");
        var variant = Variants[int.Parse(args[0], CultureInfo.InvariantCulture)];
        var n = args[1..6].Select(a => long.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        var shape = new GptShape("memory", (int)n[0], n[1], n[2], n[3], n[4]);
        Console.WriteLine(TrainingStepProbe.Measure(variant, shape).Serialize());
    }

    private static StepMemory MeasureInChild(GptVariant variant, GptShape shape, bool reuse)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        // Under `dotnet Mhc.Benchmarks.dll` the process is the host, which needs the assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var arg in new[] { "memory", ChildFlag, Array.IndexOf(Variants, variant).ToString(CultureInfo.InvariantCulture), shape.Layers.ToString(CultureInfo.InvariantCulture),
                     shape.Width.ToString(CultureInfo.InvariantCulture), shape.Heads.ToString(CultureInfo.InvariantCulture),
                     shape.Context.ToString(CultureInfo.InvariantCulture), shape.Batch.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);
        if (reuse)
            start.ArgumentList.Add(ReuseFlag);
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"The memory probe for {variant.Name} at {shape.Compact} exited with {child.ExitCode}.");
        return StepMemory.Parse(output.Trim().Split('\n')[^1]);
    }

    private static string MiB(double bytes) => (bytes / (1 << 20)).ToString("0.0", CultureInfo.InvariantCulture);
}
