using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using Mhc.Runtime.Gpu.Kernels;

namespace Mhc.DeviceCheck;

/// <summary>
/// Timings on the device under test, all in one run: device-to-device copy bandwidth (what a kernel that
/// only streams memory could reach), then every op forward and backward, each with the bandwidth it achieves
/// (the bytes it must read and write, per MHC-SPEC §7, over its time) as a share of the copy's; Sinkhorn, whose
/// cost is arithmetic, by time alone. Each figure is the best of <see cref="Repeats"/> runs after one warm-up,
/// launch to completion.
/// </summary>
internal static class Measurements
{
    private const int Repeats = 5;

    /// <summary>One op's time, and the bytes it must move where bandwidth is its bound.</summary>
    public sealed record Timing(string Name, double Seconds, double? Bytes)
    {
        public double? GBs => Bytes / Seconds / 1e9;
    }

    public sealed record Figures(double CopyGBs, IReadOnlyList<Timing> Ops, KernelSizes Sizes)
    {
        public double Share(Timing op) => op.GBs / CopyGBs ?? double.NaN;

        /// <summary>One connection's kernels forward and backward, all ops together.</summary>
        public double ConnectionSeconds => Ops.Sum(o => o.Seconds);
    }

    public static Figures Run(Workbench b, KernelSizes s)
    {
        long t = s.Tokens, n = s.Streams, c = s.Channels, m = s.Projections, width = s.Width;
        const double f32 = sizeof(float);
        var ops = new List<Timing>();
        try
        {
            // Copy: the same bytes as merge's stream state, read once and written once.
            var source = b.Zeros(t * n * c);
            var target = b.Zeros(t * n * c);
            double copy = Best(b, () => b.Copy(source, target));
            double copyGBs = 2.0 * t * n * c * f32 / copy / 1e9;
            b.Release();

            {
                var (x, phi, bias, alpha) = (b.Zeros(t * width), b.Zeros(width * m), b.Zeros(m), b.Zeros(3));
                var (pre, post, res, p, r) = (b.Zeros(t * n), b.Zeros(t * n), b.Zeros(t * n * n), b.Zeros(t * m), b.Zeros(t));
                ops.Add(new("coefficients forward", Best(b, () => b.Kernels.Coefficients(s, x, phi, bias, alpha, pre, post, res, p, r)),
                    f32 * (t * width + width * m + t * (2 * n + n * n + m + 1))));
                var (gx, gPhi, gBias, gAlpha) = (b.Zeros(t * width), b.Zeros(width * m), b.Zeros(m), b.Zeros(3));
                var (gz, gzp, gDot, sums) = (b.Zeros(t * m), b.Zeros(t * m), b.Zeros(t * m), b.Zeros(m));
                ops.Add(new("coefficients backward", Best(b, () => b.Kernels.CoefficientsBackward(s, x, phi, alpha, pre, post, p, r,
                        pre, post, res, gx, gPhi, gBias, gAlpha, gz, gzp, gDot, sums)),
                    f32 * (2 * t * width + 2 * width * m + t * (2 * n + n * n + m + 1))));
                b.Release();
            }
            {
                long entries = t * n * n;
                var (logits, grad, outputs, gradLogits) = (b.Zeros(entries), b.Zeros(entries), b.Zeros(entries), b.Zeros(entries));
                var scratch = b.Zeros(Mhc.Runtime.Gpu.DeviceKernels.SinkhornScratchLength(s));
                ops.Add(new("sinkhorn forward", Best(b, () => b.Kernels.Sinkhorn(s, logits, outputs)), null));
                ops.Add(new("sinkhorn backward", Best(b, () => b.Kernels.SinkhornBackward(s, logits, grad, gradLogits, scratch)), null));
                b.Release();
            }
            {
                var (x, pre, h) = (b.Zeros(t * n * c), b.Zeros(t * n), b.Zeros(t * c));
                ops.Add(new("pre-mix forward", Best(b, () => b.Kernels.PreMix(s, x, pre, h)), f32 * t * (n * c + n + c)));
                var (gx, gPre) = (b.Zeros(t * n * c), b.Zeros(t * n));
                ops.Add(new("pre-mix backward", Best(b, () => b.Kernels.PreMixBackward(s, x, pre, h, gx, gPre)), f32 * t * (2 * n * c + c + 2 * n)));
                b.Release();
            }
            {
                var (x, res, post, f, output) = (b.Zeros(t * n * c), b.Zeros(t * n * n), b.Zeros(t * n), b.Zeros(t * c), b.Zeros(t * n * c));
                ops.Add(new("merge forward", Best(b, () => b.Kernels.Merge(s, x, res, post, f, output)), f32 * t * ((n + 1) * c + n * n + n + n * c)));
                var (gx, gRes, gPost, gf) = (b.Zeros(t * n * c), b.Zeros(t * n * n), b.Zeros(t * n), b.Zeros(t * c));
                ops.Add(new("merge backward", Best(b, () => b.Kernels.MergeBackward(s, x, res, post, f, output, gx, gRes, gPost, gf)),
                    f32 * t * (3 * n * c + 2 * c + 2 * (n * n + n))));
            }
            return new Figures(copyGBs, ops, s);
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
