using System.Diagnostics;
using Mhc.Runtime.Diagnostics;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Splits a run of tokens into contiguous chunks that run in parallel, by default on libtorch's own OpenMP
/// team (<see cref="TorchThreads"/>). Each chunk gets at least 2²⁰ operations, so work below about 2·2²⁰ runs
/// inline on the calling thread: smaller hand-offs cost more than they save (a generation forward at the
/// trainer's default shape is all such work).
/// </summary>
internal readonly struct TokenChunks
{
    /// <summary>The default of <see cref="MinOperationsPerChunk"/>.</summary>
    internal const long DefaultMinOperationsPerChunk = 1 << 20;

    /// <summary>
    /// Least work a chunk gets. Lowering it makes small inputs split over several chunks, which is how the
    /// tests run every kernel's multi-threaded path and its cross-chunk sums on inputs small enough to
    /// compare against the reference in float64; set it between kernel calls, never while kernels run.
    /// </summary>
    internal static long MinOperationsPerChunk { get; set; } = DefaultMinOperationsPerChunk;

    /// <summary>
    /// Where chunks run: libtorch's OpenMP team where it is found (the default), else .NET's thread pool. The
    /// benchmarks' GPT suite compares the three choices side by side; set it between steps, never while kernels run.
    /// </summary>
    internal static ChunkThreads Threads { get; set; } = ChunkThreads.TorchTeam;

    public long Tokens { get; }
    public int Count { get; }
    private readonly long _chunkSize;

    private TokenChunks(long tokens, int count, long chunkSize)
    {
        Tokens = tokens;
        Count = count;
        _chunkSize = chunkSize;
    }

    /// <param name="tokens">Number of tokens.</param>
    /// <param name="operationsPerToken">Rough cost of one token, to decide whether threads pay off.</param>
    /// <param name="alignment">Chunk boundaries fall on multiples of this (e.g. a SIMD block of tokens).</param>
    /// <param name="chunksPerCore">
    /// Several chunks per core smooth out uneven scheduling; a kernel that keeps a partial sum per chunk
    /// may ask for fewer, so the partials stay few.
    /// </param>
    public static TokenChunks Plan(long tokens, long operationsPerToken, int alignment = 1, int chunksPerCore = 4)
    {
        if (tokens <= 0)
            return new TokenChunks(0, 0, 1);
        long totalWork = tokens * Math.Max(1, operationsPerToken);
        long byWork = Math.Max(1, totalWork / MinOperationsPerChunk);
        long wanted = Math.Min(byWork, (long)Environment.ProcessorCount * chunksPerCore);
        long chunkSize = (tokens + wanted - 1) / wanted;
        chunkSize = (chunkSize + alignment - 1) / alignment * alignment;
        int count = (int)((tokens + chunkSize - 1) / chunkSize);
        return new TokenChunks(tokens, count, chunkSize);
    }

    public long Start(int chunk) => chunk * _chunkSize;

    public long End(int chunk) => Math.Min(Tokens, (chunk + 1) * _chunkSize);

    /// <summary>Runs <paramref name="body"/>(start, end, chunkIndex) for every chunk, on the threads <see cref="Threads"/> names.</summary>
    public void Run(Action<long, long, int> body)
    {
        if (Count == 1 || Threads == ChunkThreads.CallerOnly)
        {
            body(0, Tokens, 0);
            return;
        }
        var self = this;
        void Chunk(int chunk) => body(self.Start(chunk), self.End(chunk), chunk);
        if (ConnectionTimings.Enabled)
            RunTimed(Chunk);
        else
            Dispatch(Chunk);
    }

    /// <summary>Runs every chunk on the threads <see cref="Threads"/> names; returns how many threads it asked for.</summary>
    private int Dispatch(Action<int> chunk)
    {
        if (Threads == ChunkThreads.TorchTeam && TorchThreads.Available)
            return TorchThreads.Run(Count, chunk);
        Parallel.For(0, Count, chunk);
        return Math.Min(Count, Environment.ProcessorCount);
    }

    /// <summary>
    /// <see cref="Dispatch"/> with the time the threads wait counted (<see cref="TimedPart.ChunkWaiting"/>): the run's wall
    /// time less its chunks' summed work spread over the threads it had.
    /// </summary>
    private void RunTimed(Action<int> chunk)
    {
        long busy = 0, start = Stopwatch.GetTimestamp();
        int threads = Dispatch(index =>
        {
            long begin = Stopwatch.GetTimestamp();
            chunk(index);
            Interlocked.Add(ref busy, Stopwatch.GetTimestamp() - begin);
        });
        long wall = Stopwatch.GetTimestamp() - start;
        ConnectionTimings.Add(TimedPart.ChunkWaiting, Math.Max(0, wall - busy / threads));
    }
}

/// <summary>The threads a kernel's chunks run on.</summary>
internal enum ChunkThreads
{
    /// <summary>libtorch's intra-op OpenMP team (<see cref="TorchThreads"/>), or .NET's pool where it is not found.</summary>
    TorchTeam,

    /// <summary>.NET's thread pool, beside libtorch's team.</summary>
    DotNetPool,

    /// <summary>The calling thread alone, in one chunk.</summary>
    CallerOnly,
}
