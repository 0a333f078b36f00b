using ILGPU;
using ILGPU.Algorithms;

namespace Mhc.Runtime.Gpu.Kernels;

/// <summary>
/// Sinkhorn–Knopp (MHC-SPEC §3) with the same numerics as the CPU kernels (<see cref="Ops.SinkhornNumerics"/>):
/// each column shifted by its own maximum, and a sum below 1e-18 treated as empty (reciprocal 0, so a
/// vanished row or column gets a zero gradient). One thread per token; the token's n×n matrices live in
/// local memory (n ≤ <see cref="KernelSizes.MaxStreams"/>).
/// </summary>
/// <remarks>
/// After any number of steps the matrix is diag(R)·M0·diag(C), with M0 = exp(L − colmax) and R, C the
/// products of the reciprocals applied so far. The forward keeps only the matrix; the backward recomputes
/// the iterations and records, per step, the cumulative vector that step changed and the reciprocals it
/// applied (2n values per step, in <c>scratch</c>): that rebuilds every intermediate matrix exactly without
/// storing 2t matrices per token.
/// </remarks>
internal static class SinkhornKernels
{
    private const int MaxEntries = KernelSizes.MaxStreams * KernelSizes.MaxStreams;
    private const float EmptySum = Ops.SinkhornNumerics.EmptySumSingle;

    public static void Forward(Index1D token, KernelSizes s, ArrayView<float> logits, ArrayView<float> output)
    {
        int n = s.Streams;
        long at = (long)token.X * n * n;
        var m = LocalMemory.Allocate<float>(MaxEntries);
        ShiftedExp(n, logits, at, m);
        for (int step = 0; step < 2 * s.Iterations; step++)
        {
            bool columns = step % 2 == 0;
            for (int a = 0; a < n; a++)
            {
                float sum = 0f;
                for (int b = 0; b < n; b++)
                    sum += m[columns ? b * n + a : a * n + b];
                float q = Reciprocal(sum);
                for (int b = 0; b < n; b++)
                    m[columns ? b * n + a : a * n + b] *= q;
            }
        }
        for (int e = 0; e < n * n; e++)
            output[at + e] = m[e];
    }

    /// <param name="scratch">[tokens, 2·iterations, 2n]: per step, the cumulative vector and the reciprocals.</param>
    public static void Backward(Index1D token, KernelSizes s, ArrayView<float> logits, ArrayView<float> gradOutput,
        ArrayView<float> gradLogits, ArrayView<float> scratch)
    {
        int n = s.Streams, steps = 2 * s.Iterations;
        long at = (long)token.X * n * n;
        long record = (long)token.X * steps * 2 * n;
        var m0 = LocalMemory.Allocate<float>(MaxEntries);
        var rows = LocalMemory.Allocate<float>(KernelSizes.MaxStreams);
        var cols = LocalMemory.Allocate<float>(KernelSizes.MaxStreams);
        var g = LocalMemory.Allocate<float>(MaxEntries);
        ShiftedExp(n, logits, at, m0);
        for (int a = 0; a < n; a++) { rows[a] = 1f; cols[a] = 1f; }

        // Recompute: step k normalises columns (k even) or rows (k odd) of diag(rows)·M0·diag(cols).
        for (int step = 0; step < steps; step++)
        {
            bool columns = step % 2 == 0;
            long slot = record + (long)step * 2 * n;
            for (int a = 0; a < n; a++)
            {
                float sum = 0f;
                for (int b = 0; b < n; b++)
                    sum += columns ? rows[b] * m0[b * n + a] * cols[a] : rows[a] * m0[a * n + b] * cols[b];
                float q = Reciprocal(sum);
                float cumulative = (columns ? cols[a] : rows[a]) * q;
                if (columns) cols[a] = cumulative; else rows[a] = cumulative;
                scratch[slot + a] = cumulative;
                scratch[slot + n + a] = q;
            }
        }

        // Back through the steps: for a column step with output A and reciprocals q,
        // ∂in[i,j] = q[j]·(∂out[i,j] − Σ_i' ∂out[i',j]·A[i',j]); rows alike.
        for (int e = 0; e < n * n; e++)
            g[e] = gradOutput[at + e];
        for (int step = steps - 1; step >= 0; step--)
        {
            bool columns = step % 2 == 0;
            long slot = record + (long)step * 2 * n;
            long previous = slot - 2 * n; // the other vector, as the step before left it
            for (int a = 0; a < n; a++)
            {
                float q = scratch[slot + n + a];
                float own = scratch[slot + a];
                float dot = 0f;
                for (int b = 0; b < n; b++)
                {
                    float other = step == 0 ? 1f : scratch[previous + b];
                    int e = columns ? b * n + a : a * n + b;
                    dot += g[e] * own * m0[e] * other;
                }
                for (int b = 0; b < n; b++)
                {
                    int e = columns ? b * n + a : a * n + b;
                    g[e] = q * (g[e] - dot);
                }
            }
        }
        // exp's derivative; the shift is a constant of the iteration (its true derivative is zero).
        for (int e = 0; e < n * n; e++)
            gradLogits[at + e] = g[e] * m0[e];
    }

    private static void ShiftedExp(int n, ArrayView<float> logits, long at, ArrayView<float> m)
    {
        for (int j = 0; j < n; j++)
        {
            float max = logits[at + j];
            for (int i = 1; i < n; i++)
                max = XMath.Max(max, logits[at + i * n + j]);
            for (int i = 0; i < n; i++)
                m[i * n + j] = XMath.Exp(logits[at + i * n + j] - max);
        }
    }

    private static float Reciprocal(float sum) => sum >= EmptySum ? 1f / sum : 0f;
}
