using ILGPU;
using Mhc.Runtime.Gpu.Kernels;

namespace Mhc.DeviceCheck;

/// <summary>
/// Runs every kernel, forward and backward, on the accelerator under test and on ILGPU's CPU accelerator
/// with the same inputs, and compares every output (relative error ≤ 1e-5). The CPU accelerator's results
/// are the reference here because the test suite checks them against the TorchSharp reference path and
/// the golden cases; the check adds what only a GPU can show: the PTX build, the binding, and the numbers
/// of a real device's arithmetic. Each op also runs twice on the device: the results must be bit-identical.
/// </summary>
internal static class KernelChecks
{
    public const double Tolerance = 1e-5;

    public sealed record Outcome(string Op, double WorstError, bool Deterministic)
    {
        public bool Passed => WorstError <= Tolerance && Deterministic;
    }

    public static IReadOnlyList<Outcome> Run(Workbench device, Workbench reference, KernelSizes s)
    {
        var ops = new (string Name, Func<Workbench, KernelSizes, float[][]> Run)[]
        {
            ("coefficients forward + backward", Coefficients),
            ("sinkhorn forward + backward", Sinkhorn),
            ("pre-mix forward + backward", PreMix),
            ("merge forward + backward", Merge),
        };
        var outcomes = new List<Outcome>();
        foreach (var (name, run) in ops)
        {
            var expected = Once(reference, s, run);
            var first = Once(device, s, run);
            var second = Once(device, s, run);
            double worst = 0;
            bool same = true;
            for (int i = 0; i < expected.Length; i++)
            {
                worst = Math.Max(worst, Inputs.RelativeError(first[i], expected[i]));
                same &= first[i].AsSpan().SequenceEqual(second[i]);
            }
            outcomes.Add(new Outcome(name, worst, same));
        }
        return outcomes;
    }

    private static float[][] Once(Workbench bench, KernelSizes s, Func<Workbench, KernelSizes, float[][]> run)
    {
        try { return run(bench, s); }
        finally { bench.Release(); }
    }

    private static float[][] Coefficients(Workbench b, KernelSizes s)
    {
        long t = s.Tokens, n = s.Streams, m = s.Projections;
        var x = b.Upload(Inputs.Random(t * s.Width, 1.0, 1));
        var phi = b.Upload(Inputs.Random((long)s.Width * m, 0.3, 2));
        var bias = b.Upload(Inputs.Random(m, 1.0, 3));
        var alpha = b.Upload([0.5f, 0.3f, 1.0f]);
        var (pre, post, res, p, r) = (b.Zeros(t * n), b.Zeros(t * n), b.Zeros(t * n * n), b.Zeros(t * m), b.Zeros(t));
        b.Kernels.Coefficients(s, x, phi, bias, alpha, pre, post, res, p, r);
        var (gPre, gPost, gRes) = (b.Upload(Inputs.Random(t * n, 1, 4)), b.Upload(Inputs.Random(t * n, 1, 5)), b.Upload(Inputs.Random(t * n * n, 1, 6)));
        var (gx, gPhi, gBias, gAlpha) = (b.Zeros(t * s.Width), b.Zeros((long)s.Width * m), b.Zeros(m), b.Zeros(3));
        b.Kernels.CoefficientsBackward(s, x, phi, alpha, pre, post, p, r, gPre, gPost, gRes, gx, gPhi, gBias, gAlpha,
            b.Zeros(t * m), b.Zeros(t * m), b.Zeros(t * m), b.Zeros(m));
        return [.. new[] { pre, post, res, gx, gPhi, gBias, gAlpha }.Select(b.Download)];
    }

    private static float[][] Sinkhorn(Workbench b, KernelSizes s)
    {
        long entries = (long)s.Tokens * s.Streams * s.Streams;
        var logits = b.Upload(Inputs.Random(entries, 4.0, 7));
        var output = b.Zeros(entries);
        b.Kernels.Sinkhorn(s, logits, output);
        var grad = b.Upload(Inputs.Random(entries, 1.0, 8));
        var gradLogits = b.Zeros(entries);
        b.Kernels.SinkhornBackward(s, logits, grad, gradLogits, b.Zeros(Mhc.Runtime.Gpu.DeviceKernels.SinkhornScratchLength(s)));
        return [b.Download(output), b.Download(gradLogits)];
    }

    private static float[][] PreMix(Workbench b, KernelSizes s)
    {
        long t = s.Tokens, n = s.Streams, c = s.Channels;
        var x = b.Upload(Inputs.Random(t * n * c, 1.0, 9));
        var pre = b.Upload(Inputs.Between(t * n, 0, 1, 10));
        var h = b.Zeros(t * c);
        b.Kernels.PreMix(s, x, pre, h);
        var gradH = b.Upload(Inputs.Random(t * c, 1.0, 11));
        var (gx, gPre) = (b.Zeros(t * n * c), b.Zeros(t * n));
        b.Kernels.PreMixBackward(s, x, pre, gradH, gx, gPre);
        return [b.Download(h), b.Download(gx), b.Download(gPre)];
    }

    private static float[][] Merge(Workbench b, KernelSizes s)
    {
        long t = s.Tokens, n = s.Streams, c = s.Channels;
        var x = b.Upload(Inputs.Random(t * n * c, 1.0, 12));
        var res = b.Upload(Inputs.Between(t * n * n, 0, 1, 13));
        var post = b.Upload(Inputs.Between(t * n, 0, 2, 14));
        var f = b.Upload(Inputs.Random(t * c, 1.0, 15));
        var output = b.Zeros(t * n * c);
        b.Kernels.Merge(s, x, res, post, f, output);
        var grad = b.Upload(Inputs.Random(t * n * c, 1.0, 16));
        var (gx, gRes, gPost, gf) = (b.Zeros(t * n * c), b.Zeros(t * n * n), b.Zeros(t * n), b.Zeros(t * c));
        b.Kernels.MergeBackward(s, x, res, post, f, grad, gx, gRes, gPost, gf);
        return [.. new[] { output, gx, gRes, gPost, gf }.Select(b.Download)];
    }
}
