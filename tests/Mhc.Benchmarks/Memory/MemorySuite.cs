using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Mhc.Benchmarks.Memory;

/// <summary>
/// Peak memory of a GPT training step, residual vs mHC (n = 4), each variant in a fresh child process
/// so that no variant inherits another's heap. See docs/benchmarks.md, "Memory".
///   dotnet run -c Release --project tests/Mhc.Benchmarks -- memory [--quick]
/// </summary>
internal static class MemorySuite
{
    private const string ChildFlag = "--child";

    private static readonly GptShape[] Shapes =
    [
        new(Layers: 4, Width: 128, Heads: 4, Context: 64, Batch: 32),
        new(Layers: 12, Width: 256, Heads: 8, Context: 128, Batch: 16),
    ];

    public static void Run(string[] args)
    {
        if (args.Length > 0 && args[0] == ChildFlag)
        {
            RunChild(args[1..]);
            return;
        }

        var shapes = args.Contains("--quick") ? Shapes[..1] : Shapes;
        var variants = Enum.GetValues<GptVariant>();
        Console.WriteLine("GPT training step (forward + cross-entropy + backward + AdamW), float32, one process per variant.");
        Console.WriteLine("MiB resident above the between-steps level (model, gradients, AdamW moments); each phase its own peak.\n");
        Console.WriteLine("shape                    variant          model  grads+adam  forward  after fwd  backward  adam step   peak   /residual");
        foreach (var shape in shapes)
        {
            var results = variants.ToDictionary(v => v, v => MeasureInChild(v, shape));
            double residualPeak = results[GptVariant.Residual].Peak;
            foreach (var (variant, m) in results)
                Console.WriteLine($"{shape,-24} {variant,-14} {MiB(m.Model),7} {MiB(m.BetweenSteps - m.Model),11} {MiB(m.Forward),8} {MiB(m.AfterForward),10}" +
                                  $" {MiB(m.Backward),9} {MiB(m.OptimizerStep),10} {MiB(m.Peak),6} {Harness.Ratio(m.Peak / residualPeak),11}");
        }
    }

    private static void RunChild(string[] args)
    {
        if (!ProcessMemory.ReturnFreedBlocks())
            throw new PlatformNotSupportedException("The memory suite needs glibc's mallopt and /proc (Linux).");
        var variant = Enum.Parse<GptVariant>(args[0]);
        var n = args[1..].Select(a => long.Parse(a, CultureInfo.InvariantCulture)).ToArray();
        var shape = new GptShape((int)n[0], n[1], n[2], n[3], n[4]);
        Console.WriteLine(TrainingStepProbe.Measure(variant, shape).Serialize());
    }

    private static StepMemory MeasureInChild(GptVariant variant, GptShape shape)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true };
        // Under `dotnet Mhc.Benchmarks.dll` the process is the host, which needs the assembly first.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        foreach (var arg in new[] { "memory", ChildFlag, variant.ToString(), shape.Layers.ToString(CultureInfo.InvariantCulture),
                     shape.Width.ToString(CultureInfo.InvariantCulture), shape.Heads.ToString(CultureInfo.InvariantCulture),
                     shape.Context.ToString(CultureInfo.InvariantCulture), shape.Batch.ToString(CultureInfo.InvariantCulture) })
            start.ArgumentList.Add(arg);
        using var child = Process.Start(start)!;
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        if (child.ExitCode != 0)
            throw new InvalidOperationException($"The memory probe for {variant} at {shape} exited with {child.ExitCode}.");
        return StepMemory.Parse(output.Trim().Split('\n')[^1]);
    }

    private static string MiB(double bytes) => (bytes / (1 << 20)).ToString("0.0", CultureInfo.InvariantCulture);
}
