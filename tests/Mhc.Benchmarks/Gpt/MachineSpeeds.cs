using System.Diagnostics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// What this machine does per second at a GPT shape, measured in the run that uses it: the bandwidth of a
/// 64 MiB copy (beyond L2, as a step's stream states together are), libtorch's BLAS on the MLP's GEMM and on
/// the coefficients' thin one, and the cost of one page fault on fresh memory.
/// </summary>
internal sealed record MachineSpeeds(double CopyBytesPerSecond, double ModelGemmFlops, double CoefficientGemmFlops, double PageFaultSeconds)
{
    public static MachineSpeeds Measure(GptShape shape, int streams, int projections, BenchmarkSettings settings)
    {
        using var scope = NewDisposeScope();
        long tokens = shape.Tokens, c = shape.Width;
        var big = randn(16L << 20);
        var a = randn(tokens, c);
        var up = randn(c, 4 * c);
        var v = randn(tokens, streams * c);
        var phi = randn(streams * c, projections);
        var times = Harness.MedianMilliseconds(
            [() => { using var copy = big.clone(); }, () => { using var y = a.mm(up); }, () => { using var y = v.mm(phi); }],
            settings.Warmup, Math.Max(5, settings.Rounds));
        return new MachineSpeeds(
            2.0 * big.numel() * 4 / (times[0] / 1000),
            2.0 * tokens * c * 4 * c / (times[1] / 1000),
            2.0 * tokens * streams * c * projections / (times[2] / 1000),
            PageFault());
    }

    /// <summary>
    /// Seconds per fault: touching each 4 KiB page of a fresh anonymous 64 MiB mapping once (the kernel's zeroing
    /// included), median of five. mmap itself, since the trainer's allocator keeps freed memory mapped.
    /// </summary>
    private static double PageFault()
    {
        const int pages = 16 << 10, page = 4096;
        const int readWrite = 0x3, privateAnonymous = 0x22, noHugePages = 15;
        var samples = new double[5];
        for (int i = 0; i < samples.Length; i++)
        {
            nint block = mmap(0, (nuint)pages * page, readWrite, privateAnonymous, -1, 0);
            if (block == -1)
                return double.NaN;
            madvise(block, (nuint)pages * page, noHugePages);
            var clock = Stopwatch.StartNew();
            for (int p = 0; p < pages; p++)
                Marshal.WriteByte(block, p * page, 1);
            samples[i] = clock.Elapsed.TotalSeconds / pages;
            munmap(block, (nuint)pages * page);
        }
        return Harness.Median(samples);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern nint mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);

    [DllImport("libc")]
    private static extern int munmap(nint address, nuint length);

    [DllImport("libc")]
    private static extern int madvise(nint address, nuint length, int advice);
}
