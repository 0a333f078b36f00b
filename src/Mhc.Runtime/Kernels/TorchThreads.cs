using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using TorchSharp;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Runs the kernels' chunks on libtorch's own intra-op threads: the OpenMP team of the libgomp that libtorch
/// loaded, entered through <c>GOMP_parallel</c> exactly as libtorch's own parallel loops enter it. After each of
/// its ops libtorch's workers spin, waiting for the next; work handed to .NET's thread pool instead has to take
/// a core from a spinning worker, and on a machine whose cores libtorch's team fills (the default) each pool
/// delays the other. Handed to the team, the chunks go to threads that are already awake and waiting for work.
/// Where no libgomp is loaded (another OpenMP runtime, another OS) <see cref="Available"/> is false and the
/// caller keeps to .NET's pool.
/// </summary>
internal static unsafe class TorchThreads
{
    private static readonly delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void> s_parallel;
    private static readonly delegate* unmanaged<int> s_inParallel;

    static TorchThreads()
    {
        if (!OperatingSystem.IsLinux() || LoadedLibgomp() is not { } path || !NativeLibrary.TryLoad(path, out var library))
            return;
        if (NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel)
            && NativeLibrary.TryGetExport(library, "omp_in_parallel", out var inParallel))
        {
            s_parallel = (delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void>)parallel;
            s_inParallel = (delegate* unmanaged<int>)inParallel;
        }
    }

    /// <summary>True where libtorch's OpenMP runtime was found in the process.</summary>
    public static bool Available => s_parallel != null;

    /// <summary>
    /// Runs <paramref name="body"/>(chunk) for chunk = 0 … <paramref name="count"/> − 1 on libtorch's team
    /// (torch.get_num_threads() threads, the caller among them), each thread taking the next chunk not yet taken.
    /// Returns when every chunk has run, with the number of threads asked for (1 where the chunks ran here alone);
    /// the first exception a chunk threw is rethrown here.
    /// </summary>
    public static int Run(int count, Action<int> body)
    {
        int threads = Math.Min(count, torch.get_num_threads());
        // Without the team, with one thread, or inside a team already (a chunk that runs a kernel; a nested region
        // would get this thread alone in libgomp's default), the chunks run here directly.
        if (!Available || threads <= 1 || s_inParallel() != 0)
        {
            for (int chunk = 0; chunk < count; chunk++)
                body(chunk);
            return 1;
        }
        var work = new Work(count, body);
        var handle = GCHandle.Alloc(work);
        try
        {
            s_parallel(&RunChunks, (void*)GCHandle.ToIntPtr(handle), (uint)threads, 0);
        }
        finally
        {
            handle.Free();
        }
        work.Failure?.Throw();
        return threads;
    }

    /// <summary>What every thread of the team reads: the chunks, the next one not taken, and the first failure.</summary>
    private sealed class Work(int count, Action<int> body)
    {
        private int _next = -1;

        public int Count { get; } = count;
        public Action<int> Body { get; } = body;
        public ExceptionDispatchInfo? Failure { get; set; }

        public int Take() => Interlocked.Increment(ref _next);
    }

    // Called by every thread of the team: exceptions must not cross into native code, so the first is kept
    // for the caller and the remaining chunks are skipped.
    [UnmanagedCallersOnly]
    private static void RunChunks(void* state)
    {
        var work = (Work)GCHandle.FromIntPtr((nint)state).Target!;
        try
        {
            for (int chunk = work.Take(); chunk < work.Count && work.Failure is null; chunk = work.Take())
                work.Body(chunk);
        }
        catch (Exception e)
        {
            lock (work)
                work.Failure ??= ExceptionDispatchInfo.Capture(e);
        }
    }

    /// <summary>The path of the libgomp mapped into this process (libtorch's copy has a hash in its name), if any.</summary>
    private static string? LoadedLibgomp()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int at = line.IndexOf('/');
                if (at >= 0 && line.AsSpan(at).Contains("/libgomp", StringComparison.Ordinal))
                    return line[at..];
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
