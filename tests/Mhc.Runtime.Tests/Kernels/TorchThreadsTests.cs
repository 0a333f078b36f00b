using System.Collections.Concurrent;
using Mhc.Runtime.Kernels;

namespace Mhc.Runtime.Tests.Kernels;

/// <summary>The kernels' chunks on libtorch's OpenMP team: found, every chunk once, on several threads, failures surfaced.</summary>
public class TorchThreadsTests
{
    public TorchThreadsTests() => ones(1).Dispose(); // libtorch, and with it its libgomp, is loaded

    [Fact]
    public void LibtorchsOpenMpRuntimeIsFoundOnLinux()
    {
        if (!OperatingSystem.IsLinux())
            return;
        Assert.True(TorchThreads.Available, "GOMP_parallel was not found in the libgomp libtorch loaded");
    }

    [Fact]
    public void EveryChunkRunsOnceAndTheTeamShareThem()
    {
        if (!TorchThreads.Available)
            return;
        const int count = 24;
        var runs = new int[count];
        var threads = new ConcurrentDictionary<int, byte>();
        TorchThreads.Run(count, chunk =>
        {
            Interlocked.Increment(ref runs[chunk]);
            threads.TryAdd(Environment.CurrentManagedThreadId, 0);
            Thread.Sleep(2); // long enough that every thread of the team takes some
        });
        Assert.All(runs, r => Assert.Equal(1, r));
        if (get_num_threads() > 1)
            Assert.True(threads.Count > 1, $"{threads.Count} thread(s) ran the chunks with {get_num_threads()} torch threads");
    }

    [Fact]
    public void AChunksExceptionReachesTheCaller()
    {
        var e = Assert.Throws<InvalidOperationException>(() => TorchThreads.Run(16, chunk =>
        {
            if (chunk == 5) throw new InvalidOperationException("chunk 5 failed");
        }));
        Assert.Equal("chunk 5 failed", e.Message);
    }

    [Fact]
    public void ARunInsideAChunkRunsOnThatThread()
    {
        if (!TorchThreads.Available)
            return;
        int inner = 0;
        TorchThreads.Run(4, _ => TorchThreads.Run(3, _ => Interlocked.Increment(ref inner)));
        Assert.Equal(12, inner);
    }
}
