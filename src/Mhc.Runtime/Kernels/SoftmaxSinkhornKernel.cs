using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Sinkhorn as Megatron-LM and DeepSeek-V4 compute it (docs/compat-spec.md §3), over a batch of n×n matrices:
/// M = softmax over each row + ε, then columns, then t − 1 rounds of rows and columns, every step dividing by
/// its sum + ε. Same structure-of-arrays blocks as <see cref="SinkhornKernel{T}"/>. Every entry is at least ε
/// after the softmax, so no sum can vanish and no empty-sum rule is needed.
/// </summary>
internal static unsafe class SoftmaxSinkhornKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    /// <summary>Normalisation steps for t iterations: one column step, then t − 1 row-and-column rounds.</summary>
    private static int Steps(int iterations) => 2 * iterations - 1;

    /// <summary>Step k normalises columns when k is even (the first step and the last of each round), rows when odd.</summary>
    private static bool NormalisesColumns(int step) => step % 2 == 0;

    public static void Forward(T* logits, T* output, long tokens, int n, int iterations, T eps)
    {
        int nn = n * n;
        var chunks = TokenChunks.Plan(tokens, (long)nn * (6 * iterations + 8), Width);
        nint src = (nint)logits, dst = (nint)output;
        var epsilon = new Vector<T>(eps);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            var m = (Vector<T>*)NativeMemory.AlignedAlloc((nuint)(nn * sizeof(Vector<T>)), 64);
            var inv = stackalloc Vector<T>[n];
            try
            {
                for (long block = start; block < end; block += Width)
                {
                    int lanes = (int)Math.Min(Width, end - block);
                    SinkhornKernel<T>.Gather((T*)src + block * nn, nn, lanes, m);
                    RowSoftmax(m, n);
                    for (int e = 0; e < nn; e++)
                        m[e] += epsilon;
                    for (int step = 0; step < Steps(iterations); step++)
                        Normalise(m, n, NormalisesColumns(step), epsilon, inv);
                    SinkhornKernel<T>.Scatter(m, nn, lanes, (T*)dst + block * nn);
                }
            }
            finally
            {
                NativeMemory.AlignedFree(m);
            }
        });
    }

    /// <summary>
    /// Gradient w.r.t. the logits: the steps are recomputed from the logits into per-thread scratch (each
    /// step's output and reciprocal sums), walked back, and finally taken through the softmax.
    /// </summary>
    public static void Backward(T* logits, T* gradOutput, T* gradLogits, long tokens, int n, int iterations, T eps)
    {
        int nn = n * n;
        var chunks = TokenChunks.Plan(tokens, (long)nn * (14 * iterations + 12), Width);
        nint src = (nint)logits, gOut = (nint)gradOutput, gIn = (nint)gradLogits;
        chunks.Run((start, end, _) =>
        {
            var scratch = (Vector<T>*)NativeMemory.AlignedAlloc((nuint)(BackwardScratch(n, iterations) * sizeof(Vector<T>)), 64);
            try
            {
                BackwardRange((T*)src, (T*)gOut, (T*)gIn, start, end, n, iterations, eps, scratch);
            }
            finally
            {
                NativeMemory.AlignedFree(scratch);
            }
        });
    }

    /// <summary>Vectors of scratch <see cref="BackwardRange"/> needs.</summary>
    public static long BackwardScratch(int n, int iterations) => 2L * n * n + (long)Steps(iterations) * (n * n + n);

    /// <summary>
    /// <see cref="Backward"/> for tokens [start, end) on the calling thread, with <see cref="BackwardScratch"/> vectors of
    /// scratch: what a fused backward runs per block of tokens.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardRange(T* logits, T* gradOutput, T* gradLogits, long start, long end, int n, int iterations, T eps, Vector<T>* scratch)
    {
        int nn = n * n;
        int stepSize = nn + n;
        int steps = Steps(iterations);
        var epsilon = new Vector<T>(eps);
        Vector<T>* softmax = scratch;
        Vector<T>* trace = softmax + nn;
        Vector<T>* g = trace + (long)steps * stepSize;
        for (long block = start; block < end; block += Width)
        {
            int lanes = (int)Math.Min(Width, end - block);
            SinkhornKernel<T>.Gather(logits + block * nn, nn, lanes, softmax);
            RowSoftmax(softmax, n);
            // Record k holds step k's output [nn] and reciprocal sums [n]; step k reads record k − 1.
            for (int e = 0; e < nn; e++)
                trace[e] = softmax[e] + epsilon;
            for (int step = 0; step < steps; step++)
            {
                Vector<T>* record = trace + (long)step * stepSize;
                if (step > 0)
                    new Span<Vector<T>>(record - stepSize, nn).CopyTo(new Span<Vector<T>>(record, nn));
                Normalise(record, n, NormalisesColumns(step), epsilon, record + nn);
            }

            SinkhornKernel<T>.Gather(gradOutput + block * nn, nn, lanes, g);
            for (int step = steps - 1; step >= 0; step--)
            {
                Vector<T>* record = trace + (long)step * stepSize;
                NormaliseBackward(g, n, NormalisesColumns(step), record, record + nn);
            }
            RowSoftmaxBackward(g, n, softmax);
            SinkhornKernel<T>.Scatter(g, nn, lanes, gradLogits + block * nn);
        }
    }

    /// <summary>Element (line, k) of an n×n matrix: line is a column index when normalising columns, a row index otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Index(int line, int k, int n, bool columns) => columns ? k * n + line : line * n + k;

    /// <summary>Softmax along each row, shifted by the row maximum (exact: softmax ignores a per-row shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowSoftmax(Vector<T>* m, int n)
    {
        for (int i = 0; i < n; i++)
        {
            Vector<T>* row = m + i * n;
            var max = row[0];
            for (int j = 1; j < n; j++)
                max = Vector.Max(max, row[j]);
            var sum = Vector<T>.Zero;
            for (int j = 0; j < n; j++)
            {
                row[j] = VectorMath<T>.Exp(row[j] - max);
                sum += row[j];
            }
            var inv = Vector<T>.One / sum;
            for (int j = 0; j < n; j++)
                row[j] *= inv;
        }
    }

    /// <summary>Back through the row softmax S, in place on g: g[i,j] ← S[i,j]·(g[i,j] − Σ_k g[i,k]·S[i,k]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowSoftmaxBackward(Vector<T>* g, int n, Vector<T>* softmax)
    {
        for (int i = 0; i < n; i++)
        {
            Vector<T>* gRow = g + i * n;
            Vector<T>* sRow = softmax + i * n;
            var dot = gRow[0] * sRow[0];
            for (int k = 1; k < n; k++)
                dot += gRow[k] * sRow[k];
            for (int j = 0; j < n; j++)
                gRow[j] = sRow[j] * (gRow[j] - dot);
        }
    }

    /// <summary>One step in place: each column (or row) divided by its sum + ε; the reciprocals go to <paramref name="inv"/> [n].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Normalise(Vector<T>* m, int n, bool columns, Vector<T> eps, Vector<T>* inv)
    {
        for (int line = 0; line < n; line++)
        {
            var sum = m[Index(line, 0, n, columns)];
            for (int k = 1; k < n; k++)
                sum += m[Index(line, k, n, columns)];
            var reciprocal = Vector<T>.One / (sum + eps);
            for (int k = 0; k < n; k++)
                m[Index(line, k, n, columns)] *= reciprocal;
            inv[line] = reciprocal;
        }
    }

    /// <summary>
    /// Back through y = u / (Σu + ε) along each line, in place on g: gu[k] = (gy[k] − Σ_l gy[l]·y[l]) / (Σu + ε),
    /// with y the step's recorded output and 1/(Σu + ε) its recorded reciprocal.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormaliseBackward(Vector<T>* g, int n, bool columns, Vector<T>* y, Vector<T>* inv)
    {
        for (int line = 0; line < n; line++)
        {
            var dot = Vector<T>.Zero;
            for (int k = 0; k < n; k++)
                dot += g[Index(line, k, n, columns)] * y[Index(line, k, n, columns)];
            for (int k = 0; k < n; k++)
                g[Index(line, k, n, columns)] = (g[Index(line, k, n, columns)] - dot) * inv[line];
        }
    }
}
