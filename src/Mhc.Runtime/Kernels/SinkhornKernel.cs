using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Sinkhorn–Knopp over a batch of n×n matrices (MHC-SPEC §3), vectorised across tokens: a block of
/// <c>Vector&lt;T&gt;.Count</c> matrices is transposed into structure-of-arrays scratch, so element (i,j)
/// of every matrix in the block sits in one vector and each normalisation step is plain vector
/// arithmetic with no horizontal reductions, whatever n is.
/// </summary>
internal static unsafe partial class SinkhornKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    public static void Forward(T* logits, T* output, long tokens, int n, int iterations)
    {
        if (tokens == 1 && n == 4 && RunsOneInRegisters)
        {
            ForwardOne((float*)logits, (float*)output, iterations);
            return;
        }
        int nn = n * n;
        var chunks = TokenChunks.Plan(tokens, (long)nn * (6 * iterations + 4), Width);
        nint src = (nint)logits, dst = (nint)output;
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            var m = (Vector<T>*)NativeMemory.AlignedAlloc((nuint)(nn * sizeof(Vector<T>)), 64);
            try
            {
                for (long block = start; block < end; block += Width)
                {
                    int lanes = (int)Math.Min(Width, end - block);
                    Gather((T*)src + block * nn, nn, lanes, m);
                    ExpShifted(m, n);
                    if (n == 4)
                        Iterate4(m, iterations, null);
                    else
                        for (int t = 0; t < iterations; t++)
                            Step(m, n, null);
                    Scatter(m, nn, lanes, (T*)dst + block * nn);
                }
            }
            finally
            {
                NativeMemory.AlignedFree(m);
            }
        });
    }

    /// <summary>
    /// Gradient w.r.t. the logits. The iterations are recomputed here from the logits (nothing but the
    /// logits is kept from the forward), recording each step's normalised matrix and reciprocal sums in
    /// per-thread scratch, and then walked back.
    /// </summary>
    public static void Backward(T* logits, T* gradOutput, T* gradLogits, long tokens, int n, int iterations)
    {
        int nn = n * n;
        var chunks = TokenChunks.Plan(tokens, (long)nn * (14 * iterations + 8), Width);
        nint src = (nint)logits, gOut = (nint)gradOutput, gIn = (nint)gradLogits;
        chunks.Run((start, end, _) =>
        {
            var scratch = (Vector<T>*)NativeMemory.AlignedAlloc((nuint)(BackwardScratch(n, iterations) * sizeof(Vector<T>)), 64);
            try
            {
                BackwardRange((T*)src, (T*)gOut, (T*)gIn, start, end, n, iterations, scratch);
            }
            finally
            {
                NativeMemory.AlignedFree(scratch);
            }
        });
    }

    /// <summary>Vectors of scratch <see cref="BackwardRange"/> needs.</summary>
    public static long BackwardScratch(int n, int iterations) => 2L * n * n + (long)iterations * (2 * n * n + 2 * n);

    /// <summary>
    /// <see cref="Backward"/> for tokens [start, end) on the calling thread, with <see cref="BackwardScratch"/> vectors of
    /// scratch: what a fused backward runs per block of tokens.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardRange(T* logits, T* gradOutput, T* gradLogits, long start, long end, int n, int iterations, Vector<T>* scratch)
    {
        int nn = n * n;
        int stepSize = 2 * nn + 2 * n;
        Vector<T>* m0 = scratch;
        Vector<T>* trace = m0 + nn;
        Vector<T>* g = trace + (long)iterations * stepSize;
        for (long block = start; block < end; block += Width)
        {
            int lanes = (int)Math.Min(Width, end - block);
            Gather(logits + block * nn, nn, lanes, m0);
            ExpShifted(m0, n);
            Gather(gradOutput + block * nn, nn, lanes, g);
            if (n == 4)
            {
                Iterate4(m0, iterations, trace);
                IterateBackward4(g, iterations, trace);
            }
            else
            {
                // Each step works on its own record; the first starts from a copy so that M(0)
                // survives for the exp backward.
                new Span<Vector<T>>(m0, nn).CopyTo(new Span<Vector<T>>(trace, nn));
                for (int t = 0; t < iterations; t++)
                {
                    Vector<T>* record = trace + (long)t * stepSize;
                    if (t > 0)
                        new Span<Vector<T>>(record - stepSize + nn + n, nn).CopyTo(new Span<Vector<T>>(record, nn));
                    Step(record, n, record);
                }
                for (int t = iterations - 1; t >= 0; t--)
                    StepBackward(g, n, trace + (long)t * stepSize);
            }
            for (int e = 0; e < nn; e++)
                g[e] *= m0[e];
            Scatter(g, nn, lanes, gradLogits + block * nn);
        }
    }

    /// <summary>Loads <paramref name="lanes"/> row-major matrices into SoA form; unused lanes get zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Gather(T* source, int nn, int lanes, Vector<T>* soa)
    {
        var flat = (T*)soa;
        int w = Width;
        for (int lane = 0; lane < lanes; lane++)
        {
            T* matrix = source + (long)lane * nn;
            for (int e = 0; e < nn; e++)
                flat[e * w + lane] = matrix[e];
        }
        for (int lane = lanes; lane < w; lane++)
            for (int e = 0; e < nn; e++)
                flat[e * w + lane] = T.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Scatter(Vector<T>* soa, int nn, int lanes, T* destination)
    {
        var flat = (T*)soa;
        int w = Width;
        for (int lane = 0; lane < lanes; lane++)
        {
            T* matrix = destination + (long)lane * nn;
            for (int e = 0; e < nn; e++)
                matrix[e] = flat[e * w + lane];
        }
    }

    /// <summary>
    /// M ← exp(M − colmax M), column by column. Any per-column shift is exact, since the first step
    /// normalises columns; the column maximum also leaves every column an entry of 1, so exp can never
    /// empty a column, however large the logits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ExpShifted(Vector<T>* m, int n)
    {
        for (int j = 0; j < n; j++)
        {
            var max = m[j];
            for (int i = 1; i < n; i++)
                max = Vector.Max(max, m[i * n + j]);
            for (int i = 0; i < n; i++)
                m[i * n + j] = VectorMath<T>.Exp(m[i * n + j] - max);
        }
    }

    /// <summary>
    /// Below this a row or column sum counts as empty (<see cref="Ops.SinkhornNumerics"/>): far enough above
    /// the smallest normal number that the reciprocal and the gradients through it stay finite.
    /// </summary>
    private static readonly Vector<T> EmptySum = new(T.CreateChecked(typeof(T) == typeof(float)
        ? Ops.SinkhornNumerics.EmptySumSingle
        : Ops.SinkhornNumerics.EmptySumDouble));

    /// <summary>1 / sum, or 0 for an empty sum: such a row stays a zero row, with a zero gradient.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<T> SafeReciprocal(Vector<T> sum) =>
        Vector.ConditionalSelect(Vector.GreaterThanOrEqual(sum, EmptySum), Vector<T>.One / sum, Vector<T>.Zero);

    /// <summary>
    /// One iteration in place: columns, then rows. With a <paramref name="record"/> (laid out
    /// [A | 1/colsum | B | 1/rowsum], the matrix itself being the record's first n² vectors) it also
    /// leaves what the backward needs: A = M/c and B = A/r, with the reciprocal sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Step(Vector<T>* m, int n, Vector<T>* record)
    {
        int nn = n * n;
        for (int j = 0; j < n; j++)
        {
            var sum = m[j];
            for (int i = 1; i < n; i++)
                sum += m[i * n + j];
            var inv = SafeReciprocal(sum);
            for (int i = 0; i < n; i++)
                m[i * n + j] *= inv;
            if (record != null)
                record[nn + j] = inv;
        }

        Vector<T>* rows = m;
        if (record != null)
        {
            rows = record + nn + n;
            new Span<Vector<T>>(m, nn).CopyTo(new Span<Vector<T>>(rows, nn));
        }
        for (int i = 0; i < n; i++)
        {
            Vector<T>* row = rows + i * n;
            var sum = row[0];
            for (int j = 1; j < n; j++)
                sum += row[j];
            var inv = SafeReciprocal(sum);
            for (int j = 0; j < n; j++)
                row[j] *= inv;
            if (record != null)
                record[2 * nn + n + i] = inv;
        }
    }

    /// <summary>
    /// Back through one iteration, in place on g. Row step B = A/r:
    /// gA[i,j] = (gB[i,j] − Σ_k gB[i,k]·B[i,k]) / r_i; column step A = M/c:
    /// gM[i,j] = (gA[i,j] − Σ_k gA[k,j]·A[k,j]) / c_j.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StepBackward(Vector<T>* g, int n, Vector<T>* record)
    {
        int nn = n * n;
        Vector<T>* a = record;
        Vector<T>* colInv = record + nn;
        Vector<T>* b = record + nn + n;
        Vector<T>* rowInv = record + 2 * nn + n;

        for (int i = 0; i < n; i++)
        {
            Vector<T>* gRow = g + i * n;
            Vector<T>* bRow = b + i * n;
            var dot = gRow[0] * bRow[0];
            for (int k = 1; k < n; k++)
                dot += gRow[k] * bRow[k];
            var inv = rowInv[i];
            for (int j = 0; j < n; j++)
                gRow[j] = (gRow[j] - dot) * inv;
        }

        for (int j = 0; j < n; j++)
        {
            var dot = g[j] * a[j];
            for (int k = 1; k < n; k++)
                dot += g[k * n + j] * a[k * n + j];
            var inv = colInv[j];
            for (int i = 0; i < n; i++)
                g[i * n + j] = (g[i * n + j] - dot) * inv;
        }
    }
}
