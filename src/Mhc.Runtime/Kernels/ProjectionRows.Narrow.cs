using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// The forward's tile on 256-bit lanes (AVX2): a row of φ is 24 floats, three registers, loaded once and multiplied by
/// each of four tokens' elements of v. Twelve accumulators, the row and a broadcast fill the sixteen registers AVX2
/// has; each accumulator takes one multiply-add per row, twelve a row in all, more than the multiply-add's latency
/// needs in flight on two ports. Each projection sums over the rows in order, one multiply-add at a time.
/// </summary>
internal static unsafe partial class ProjectionRows
{
    /// <summary>Tokens per 256-bit tile.</summary>
    public const int NarrowTokens = 4;

    /// <summary><see cref="Tile"/> on 256-bit lanes, for <see cref="NarrowTokens"/> tokens, φ as stored ([width, 24]).</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TileNarrow(float* x, float* phi, float* q, long qStride, int width)
    {
        Vector256<float> a0 = default, b0 = default, c0 = default, a1 = default, b1 = default, c1 = default;
        Vector256<float> a2 = default, b2 = default, c2 = default, a3 = default, b3 = default, c3 = default;
        float* x1 = x + width, x2 = x1 + width, x3 = x2 + width;
        float* row = phi;
        for (int r = 0; r < width; r++, row += Projections)
        {
            var first = Vector256.Load(row);
            var second = Vector256.Load(row + 8);
            var third = Vector256.Load(row + 16);
            var v = Vector256.Create(x[r]);
            a0 = Vector256.FusedMultiplyAdd(first, v, a0); b0 = Vector256.FusedMultiplyAdd(second, v, b0); c0 = Vector256.FusedMultiplyAdd(third, v, c0);
            v = Vector256.Create(x1[r]);
            a1 = Vector256.FusedMultiplyAdd(first, v, a1); b1 = Vector256.FusedMultiplyAdd(second, v, b1); c1 = Vector256.FusedMultiplyAdd(third, v, c1);
            v = Vector256.Create(x2[r]);
            a2 = Vector256.FusedMultiplyAdd(first, v, a2); b2 = Vector256.FusedMultiplyAdd(second, v, b2); c2 = Vector256.FusedMultiplyAdd(third, v, c2);
            v = Vector256.Create(x3[r]);
            a3 = Vector256.FusedMultiplyAdd(first, v, a3); b3 = Vector256.FusedMultiplyAdd(second, v, b3); c3 = Vector256.FusedMultiplyAdd(third, v, c3);
        }
        StoreNarrow(q, a0, b0, c0);
        StoreNarrow(q + qStride, a1, b1, c1);
        StoreNarrow(q + 2 * qStride, a2, b2, c2);
        StoreNarrow(q + 3 * qStride, a3, b3, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreNarrow(float* q, Vector256<float> first, Vector256<float> second, Vector256<float> third)
    {
        first.Store(q);
        second.Store(q + 8);
        third.Store(q + 16);
    }
}
