using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Mhc.Runtime.Kernels;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// What this machine does per second at a GPT shape, measured in the run that uses it: the bandwidth of a
/// 64 MiB copy (beyond L2, as a step's stream states together are), libtorch's BLAS on the MLP's GEMM and on
/// the coefficients' thin one, the multiply-add peak of the threads the kernels run on, and the cost of one
/// page fault on fresh memory.
/// </summary>
internal sealed record MachineSpeeds(double CopyBytesPerSecond, double ModelGemmFlops, double CoefficientGemmFlops, double PeakFlops,
    double PageFaultSeconds)
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
            PeakMultiplyAdds(get_num_threads()),
            PageFault());
    }

    /// <summary>
    /// FLOPs per second of <paramref name="threads"/> threads at once, each running twelve independent chains of
    /// multiply-adds on the widest accelerated vectors, all in registers: the most any kernel here could reach.
    /// Best of five, after a warm-up (the cores' clocks rise under load).
    /// </summary>
    private static double PeakMultiplyAdds(int threads)
    {
        const long iterations = 4_000_000;
        int lanes = Vector512.IsHardwareAccelerated ? Vector512<float>.Count : System.Numerics.Vector<float>.Count;
        double best = 0;
        for (int round = 0; round < 6; round++)
        {
            using var start = new Barrier(threads + 1);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                start.SignalAndWait();
                MultiplyAdds(iterations);
            })).ToArray();
            foreach (var w in workers) w.Start();
            start.SignalAndWait();
            var clock = Stopwatch.StartNew();
            foreach (var w in workers) w.Join();
            double flops = 2.0 * 12 * lanes * iterations * threads / clock.Elapsed.TotalSeconds;
            if (round > 0)
                best = Math.Max(best, flops);
        }
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static float MultiplyAdds(long iterations) => Vector512.IsHardwareAccelerated
        ? Chains<Vector512<float>, Lanes512<float>>(iterations)
        : Chains<System.Numerics.Vector<float>, VectorLanes<float>>(iterations);

    private static float Chains<TVector, TLanes>(long iterations) where TVector : struct where TLanes : ILanes<TVector, float>
    {
        TVector m = TLanes.Broadcast(0.999999f), c = TLanes.Broadcast(1e-7f);
        TVector a0 = TLanes.Broadcast(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = TLanes.MultiplyAdd(a0, m, c); a1 = TLanes.MultiplyAdd(a1, m, c);
            a2 = TLanes.MultiplyAdd(a2, m, c); a3 = TLanes.MultiplyAdd(a3, m, c);
            a4 = TLanes.MultiplyAdd(a4, m, c); a5 = TLanes.MultiplyAdd(a5, m, c);
            a6 = TLanes.MultiplyAdd(a6, m, c); a7 = TLanes.MultiplyAdd(a7, m, c);
            a8 = TLanes.MultiplyAdd(a8, m, c); a9 = TLanes.MultiplyAdd(a9, m, c);
            a10 = TLanes.MultiplyAdd(a10, m, c); a11 = TLanes.MultiplyAdd(a11, m, c);
        }
        // The sum keeps every chain live.
        var sum = TLanes.Add(TLanes.Add(TLanes.Add(a0, a1), TLanes.Add(a2, a3)), TLanes.Add(TLanes.Add(a4, a5), TLanes.Add(a6, a7)));
        return TLanes.Sum(TLanes.Add(sum, TLanes.Add(TLanes.Add(a8, a9), TLanes.Add(a10, a11))));
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
