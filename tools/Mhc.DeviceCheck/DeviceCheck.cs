using System.Globalization;
using Mhc.Runtime.Gpu;
using Mhc.Runtime.Gpu.Kernels;

namespace Mhc.DeviceCheck;

/// <summary>What to check on which accelerator, at which sizes.</summary>
internal sealed record CheckOptions(bool Cuda, KernelSizes CheckSizes, KernelSizes TimingSizes)
{
    public const int SuccessExit = 0, CheckFailedExit = 2, NoDeviceExit = 3, UsageExit = 64;

    /// <summary>The GPU run: correctness at a size the CPU reference finishes quickly, timings at 64k tokens.</summary>
    public static CheckOptions Gpu => new(true, new KernelSizes(1024, 4, 256, 20, 1e-6f), new KernelSizes(65536, 4, 2048, 20, 1e-6f));

    /// <summary>Everything on ILGPU's CPU accelerator at tiny sizes: the plumbing, where no GPU is.</summary>
    public static CheckOptions Cpu => new(false, new KernelSizes(6, 4, 8, 20, 1e-6f), new KernelSizes(64, 4, 16, 20, 1e-6f));
}

/// <summary>The device check: builds the kernels for the device, checks each against the CPU reference, then measures.</summary>
internal static class DeviceCheck
{
    public static int Run(CheckOptions options, TextWriter output)
    {
        using var context = DeviceRuntime.CreateContext();
        Workbench device;
        try
        {
            device = options.Cuda ? Workbench.Cuda(context) : Workbench.Cpu(context);
        }
        catch (Exception e) when (e is InvalidOperationException or DllNotFoundException or ILGPU.Runtime.Cuda.CudaException)
        {
            output.WriteLine($"error: {e.Message}");
            // A driver error here is unexpected where a device was found: where it came from helps more than its text.
            if (e is ILGPU.Runtime.Cuda.CudaException)
                output.WriteLine(e.StackTrace);
            return CheckOptions.NoDeviceExit;
        }
        using (device)
        using (var reference = Workbench.Cpu(context))
        {
            output.WriteLine($"device: {device.Name}; reference: {reference.Name}");
            var c = options.CheckSizes;
            output.WriteLine($"checks at tokens = {c.Tokens}, n = {c.Streams}, C = {c.Channels}, t = {c.Iterations} (relative error ≤ {KernelChecks.Tolerance:E0}, two device runs bit-identical)");
            var outcomes = KernelChecks.Run(device, reference, c);
            foreach (var o in outcomes)
                output.WriteLine(Invariant($"  {(o.Passed ? "ok  " : "FAIL")} {o.Op}: worst relative error {o.WorstError:E2}, {(o.Deterministic ? "deterministic" : "NOT deterministic")}"));

            var f = Measurements.Run(device, options.TimingSizes);
            var s = f.Sizes;
            output.WriteLine($"timings at tokens = {s.Tokens}, n = {s.Streams}, C = {s.Channels}, t = {s.Iterations}, float32, best of 5:");
            output.WriteLine(Invariant($"  copy (device to device)   {f.CopyGBs,9:F1} GB/s"));
            foreach (var op in f.Ops)
                output.WriteLine(op.GBs is { } gbs
                    ? Invariant($"  {op.Name,-24} {op.Seconds * 1e3,9:F3} ms  {gbs,9:F1} GB/s  {f.Share(op),6:P0} of copy")
                    : Invariant($"  {op.Name,-24} {op.Seconds * 1e3,9:F3} ms"));
            output.WriteLine(Invariant($"  one connection, all ops  {f.ConnectionSeconds * 1e3,9:F3} ms"));
            bool passed = outcomes.All(o => o.Passed);
            output.WriteLine(passed ? "all kernel checks passed" : "SOME KERNEL CHECKS FAILED");
            return passed ? CheckOptions.SuccessExit : CheckOptions.CheckFailedExit;
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
