using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using Mhc.Runtime.Gpu.Kernels;

namespace Mhc.DeviceCheck;

/// <summary>
/// Timings on the device under test, all in one run: device-to-device copy bandwidth (what a kernel that
/// only streams memory could reach), the achieved bandwidth of pre-mix and merge forward (bytes each
/// must read and write, per MHC-SPEC §7, over its time), and Sinkhorn forward + backward. Each figure is
/// the best of <see cref="Repeats"/> runs after one warm-up, launch to completion.
/// </summary>
internal static class Measurements
{
    private const int Repeats = 5;

    public sealed record Figures(double CopyGBs, double PreMixGBs, double MergeGBs, double SinkhornMs, KernelSizes Sizes)
    {
        public double PreMixShare => PreMixGBs / CopyGBs;
        public double MergeShare => MergeGBs / CopyGBs;
    }

    public static Figures Run(Workbench b, KernelSizes s)
    {
        long t = s.Tokens, n = s.Streams, c = s.Channels;
        try
        {
            // Copy: the same bytes as merge's stream state, read once and written once.
            var source = b.Zeros(t * n * c);
            var target = b.Zeros(t * n * c);
            double copy = Best(b, () => b.Copy(source, target));
            double copyGBs = 2.0 * t * n * c * sizeof(float) / copy / 1e9;
            b.Release();

            var x = b.Zeros(t * n * c);
            var pre = b.Zeros(t * n);
            var h = b.Zeros(t * c);
            double preMix = Best(b, () => b.Kernels.PreMix(s, x, pre, h));
            double preMixBytes = (double)t * (n * c + n + c) * sizeof(float);
            var res = b.Zeros(t * n * n);
            var output = b.Zeros(t * n * c);
            double merge = Best(b, () => b.Kernels.Merge(s, x, res, pre, h, output));
            double mergeBytes = (double)t * ((n + 1) * c + n * n + n + n * c) * sizeof(float);
            b.Release();

            long entries = t * n * n;
            var logits = b.Zeros(entries);
            var grad = b.Zeros(entries);
            var outputs = b.Zeros(entries);
            var gradLogits = b.Zeros(entries);
            var scratch = b.Zeros(Mhc.Runtime.Gpu.DeviceKernels.SinkhornScratchLength(s));
            double sinkhorn = Best(b, () =>
            {
                b.Kernels.Sinkhorn(s, logits, outputs);
                b.Kernels.SinkhornBackward(s, logits, grad, gradLogits, scratch);
            });
            return new Figures(copyGBs, preMixBytes / preMix / 1e9, mergeBytes / merge / 1e9, sinkhorn * 1e3, s);
        }
        finally
        {
            b.Release();
        }
    }

    /// <summary>Seconds, best of the repeats.</summary>
    private static double Best(Workbench b, Action launch)
    {
        launch();
        b.Synchronize();
        double best = double.MaxValue;
        for (int i = 0; i < Repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            launch();
            b.Synchronize();
            best = Math.Min(best, clock.Elapsed.TotalSeconds);
        }
        return best;
    }
}
