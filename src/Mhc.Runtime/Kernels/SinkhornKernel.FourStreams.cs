using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Sinkhorn at n = 4, the width mHC is used at: the 16 entries of a block of matrices stay in registers through
/// all iterations, where the general loop reads and writes them in scratch on every step. The steps of
/// <see cref="Step"/> and <see cref="StepBackward"/>, except that each row and column sum of four adds its pairs first,
/// ((m₀ + m₂) + (m₁ + m₃)) down a column and ((m₀ + m₁) + (m₂ + m₃)) along a row: two adds deep instead of three, and the
/// order in which <see cref="ForwardOne"/> sums a lone matrix held in two registers, so that a token's H_res has the
/// same bits whichever path made it.
/// </summary>
internal static unsafe partial class SinkhornKernel<T>
{
    /// <summary>
    /// <paramref name="iterations"/> steps of <see cref="Step"/> on a 4×4 block in place; with a
    /// <paramref name="trace"/>, each step's record ([A | 1/colsum | B | 1/rowsum], 40 vectors) in turn, and then
    /// <paramref name="m"/> left as it was.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Iterate4(Vector<T>* m, int iterations, Vector<T>* trace)
    {
        Vector<T> m00 = m[0], m01 = m[1], m02 = m[2], m03 = m[3], m10 = m[4], m11 = m[5], m12 = m[6], m13 = m[7];
        Vector<T> m20 = m[8], m21 = m[9], m22 = m[10], m23 = m[11], m30 = m[12], m31 = m[13], m32 = m[14], m33 = m[15];
        for (int t = 0; t < iterations; t++)
        {
            var c0 = SafeReciprocal((m00 + m20) + (m10 + m30));
            var c1 = SafeReciprocal((m01 + m21) + (m11 + m31));
            var c2 = SafeReciprocal((m02 + m22) + (m12 + m32));
            var c3 = SafeReciprocal((m03 + m23) + (m13 + m33));
            m00 *= c0; m10 *= c0; m20 *= c0; m30 *= c0;
            m01 *= c1; m11 *= c1; m21 *= c1; m31 *= c1;
            m02 *= c2; m12 *= c2; m22 *= c2; m32 *= c2;
            m03 *= c3; m13 *= c3; m23 *= c3; m33 *= c3;
            Vector<T>* record = trace == null ? null : trace + (long)t * 40;
            if (record != null)
            {
                record[0] = m00; record[1] = m01; record[2] = m02; record[3] = m03;
                record[4] = m10; record[5] = m11; record[6] = m12; record[7] = m13;
                record[8] = m20; record[9] = m21; record[10] = m22; record[11] = m23;
                record[12] = m30; record[13] = m31; record[14] = m32; record[15] = m33;
                record[16] = c0; record[17] = c1; record[18] = c2; record[19] = c3;
            }

            var r0 = SafeReciprocal((m00 + m01) + (m02 + m03));
            var r1 = SafeReciprocal((m10 + m11) + (m12 + m13));
            var r2 = SafeReciprocal((m20 + m21) + (m22 + m23));
            var r3 = SafeReciprocal((m30 + m31) + (m32 + m33));
            m00 *= r0; m01 *= r0; m02 *= r0; m03 *= r0;
            m10 *= r1; m11 *= r1; m12 *= r1; m13 *= r1;
            m20 *= r2; m21 *= r2; m22 *= r2; m23 *= r2;
            m30 *= r3; m31 *= r3; m32 *= r3; m33 *= r3;
            if (record != null)
            {
                record[20] = m00; record[21] = m01; record[22] = m02; record[23] = m03;
                record[24] = m10; record[25] = m11; record[26] = m12; record[27] = m13;
                record[28] = m20; record[29] = m21; record[30] = m22; record[31] = m23;
                record[32] = m30; record[33] = m31; record[34] = m32; record[35] = m33;
                record[36] = r0; record[37] = r1; record[38] = r2; record[39] = r3;
            }
        }
        if (trace != null)
            return;
        m[0] = m00; m[1] = m01; m[2] = m02; m[3] = m03; m[4] = m10; m[5] = m11; m[6] = m12; m[7] = m13;
        m[8] = m20; m[9] = m21; m[10] = m22; m[11] = m23; m[12] = m30; m[13] = m31; m[14] = m32; m[15] = m33;
    }

    /// <summary>Whether <see cref="ForwardOne"/> runs here: float32 on AVX, whose horizontal adds and lane swaps it uses.</summary>
    internal static bool RunsOneInRegisters => typeof(T) == typeof(float) && Avx.IsSupported;

    /// <summary>
    /// <see cref="Forward"/> for one token at n = 4 (a decoding step's): the matrix in two 256-bit registers, rows 0–1 and
    /// rows 2–3, so that a column sum is one add and a swap of halves, a row sum two horizontal adds. The block path would
    /// fill one lane of sixteen registers and, on AVX2's sixteen, spill them on every step, after setting up scratch and a
    /// thread plan for one matrix (with this path a connection call at one token and C = 256 fell from 9.1 to 6.4 µs on
    /// an AVX2 machine). Same operations in the same order as <see cref="Iterate4"/>'s lanes, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ForwardOne(float* logits, float* output, int iterations)
    {
        var top = Vector256.Load(logits);
        var bottom = Vector256.Load(logits + 8);
        // exp(M − colmax M), as ExpShifted: the column maxima in both halves.
        var max = Vector256.Max(top, bottom);
        max = Vector256.Max(max, Avx.Permute2x128(max, max, 0x01));
        top = Vector256.Exp(top - max);
        bottom = Vector256.Exp(bottom - max);
        var empty = Vector256.Create(Ops.SinkhornNumerics.EmptySumSingle);
        for (int t = 0; t < iterations; t++)
        {
            // Columns: halves (r₀ + r₂ | r₁ + r₃), plus their swap.
            var sum = top + bottom;
            sum += Avx.Permute2x128(sum, sum, 0x01);
            var c = SafeReciprocal(sum, empty);
            top *= c;
            bottom *= c;
            // Rows: [row 0, row 2, row 0, row 2 | row 1, row 3, row 1, row 3] after two horizontal adds.
            var rows = Avx.HorizontalAdd(top, bottom);
            rows = Avx.HorizontalAdd(rows, rows);
            var r = SafeReciprocal(rows, empty);
            top *= Avx.Permute(r, 0b00_00_00_00);
            bottom *= Avx.Permute(r, 0b01_01_01_01);
        }
        top.Store(output);
        bottom.Store(output + 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> SafeReciprocal(Vector256<float> sum, Vector256<float> empty) =>
        Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(sum, empty), Vector256<float>.One / sum, Vector256<float>.Zero);

    /// <summary><see cref="StepBackward"/> through every recorded step, last first, on a 4×4 block of gradients in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void IterateBackward4(Vector<T>* g, int iterations, Vector<T>* trace)
    {
        Vector<T> g00 = g[0], g01 = g[1], g02 = g[2], g03 = g[3], g10 = g[4], g11 = g[5], g12 = g[6], g13 = g[7];
        Vector<T> g20 = g[8], g21 = g[9], g22 = g[10], g23 = g[11], g30 = g[12], g31 = g[13], g32 = g[14], g33 = g[15];
        for (int t = iterations - 1; t >= 0; t--)
        {
            Vector<T>* a = trace + (long)t * 40, b = a + 20;
            // Rows, B = A / r.
            var d0 = g00 * b[0] + g01 * b[1] + g02 * b[2] + g03 * b[3];
            var d1 = g10 * b[4] + g11 * b[5] + g12 * b[6] + g13 * b[7];
            var d2 = g20 * b[8] + g21 * b[9] + g22 * b[10] + g23 * b[11];
            var d3 = g30 * b[12] + g31 * b[13] + g32 * b[14] + g33 * b[15];
            var r = b[16];
            g00 = (g00 - d0) * r; g01 = (g01 - d0) * r; g02 = (g02 - d0) * r; g03 = (g03 - d0) * r;
            r = b[17];
            g10 = (g10 - d1) * r; g11 = (g11 - d1) * r; g12 = (g12 - d1) * r; g13 = (g13 - d1) * r;
            r = b[18];
            g20 = (g20 - d2) * r; g21 = (g21 - d2) * r; g22 = (g22 - d2) * r; g23 = (g23 - d2) * r;
            r = b[19];
            g30 = (g30 - d3) * r; g31 = (g31 - d3) * r; g32 = (g32 - d3) * r; g33 = (g33 - d3) * r;

            // Columns, A = M / c.
            d0 = g00 * a[0] + g10 * a[4] + g20 * a[8] + g30 * a[12];
            d1 = g01 * a[1] + g11 * a[5] + g21 * a[9] + g31 * a[13];
            d2 = g02 * a[2] + g12 * a[6] + g22 * a[10] + g32 * a[14];
            d3 = g03 * a[3] + g13 * a[7] + g23 * a[11] + g33 * a[15];
            var c = a[16];
            g00 = (g00 - d0) * c; g10 = (g10 - d0) * c; g20 = (g20 - d0) * c; g30 = (g30 - d0) * c;
            c = a[17];
            g01 = (g01 - d1) * c; g11 = (g11 - d1) * c; g21 = (g21 - d1) * c; g31 = (g31 - d1) * c;
            c = a[18];
            g02 = (g02 - d2) * c; g12 = (g12 - d2) * c; g22 = (g22 - d2) * c; g32 = (g32 - d2) * c;
            c = a[19];
            g03 = (g03 - d3) * c; g13 = (g13 - d3) * c; g23 = (g23 - d3) * c; g33 = (g33 - d3) * c;
        }
        g[0] = g00; g[1] = g01; g[2] = g02; g[3] = g03; g[4] = g10; g[5] = g11; g[6] = g12; g[7] = g13;
        g[8] = g20; g[9] = g21; g[10] = g22; g[11] = g23; g[12] = g30; g[13] = g31; g[14] = g32; g[15] = g33;
    }
}
