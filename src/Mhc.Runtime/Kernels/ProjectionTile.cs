using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mhc.Runtime.Kernels;

/// <summary>Which lanes the products with φ run on (<see cref="ProjectionTile{T, TLanes, TVector}"/>), for every kernel that has them.</summary>
internal static class ProjectionLanes<T> where T : unmanaged
{
    /// <summary>
    /// 512-bit registers where they are accelerated, else <see cref="Vector{T}"/>'s; the tests run both. Set it between
    /// kernel calls, never while kernels run.
    /// </summary>
    internal static bool Wide { get; set; } = Vector512.IsHardwareAccelerated;
}

/// <summary>
/// The coefficients' two backward products with φ, over a tile of <see cref="Tokens"/> tokens held in registers:
/// dv[t,:] = Σ_k g[t,k]·φᵀ[k,:] (written) and ∂φᵀ[k,:] += Σ_t g[t,k]·x[t,:] (accumulated), for g = ∂loss/∂(v·φ).
/// Each row of φᵀ and each broadcast g[t,k] serves the tile's eight tokens and both products, so the pair runs at
/// about BLAS's single-core speed while x is read once, for the ∂x pass that needs it anyway
/// (<see cref="InputGradientKernel{T}"/>): separate BLAS calls read x again and write dv out and back.
/// φᵀ and ∂φᵀ are [m, ld] with a padded leading dimension ld (<see cref="PaddedWidth"/>).
/// </summary>
internal static unsafe class ProjectionTile<T, TLanes, TVector>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TLanes : struct, ILanes<TVector, T> where TVector : struct
{
    /// <summary>Tokens per tile: eight products and eight partial ∂φ terms in flight fill the registers without spilling.</summary>
    public const int Tokens = 8;

    /// <summary>Eight tokens: x and dv are [8, width] rows <paramref name="width"/> apart, g is [8, m].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(T* x, T* g, T* phiT, T* gradPhiT, long ld, T* dv, int m, int width)
    {
        int lanes = TLanes.Count, j = 0;
        T* g1 = g + m, g2 = g + 2 * m, g3 = g + 3 * m, g4 = g + 4 * m, g5 = g + 5 * m, g6 = g + 6 * m, g7 = g + 7 * m;
        for (; j <= width - lanes; j += lanes)
        {
            T* xj = x + j;
            var x0 = TLanes.Load(xj);
            var x1 = TLanes.Load(xj + width);
            var x2 = TLanes.Load(xj + 2L * width);
            var x3 = TLanes.Load(xj + 3L * width);
            var x4 = TLanes.Load(xj + 4L * width);
            var x5 = TLanes.Load(xj + 5L * width);
            var x6 = TLanes.Load(xj + 6L * width);
            var x7 = TLanes.Load(xj + 7L * width);
            TVector a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero, a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero, a7 = TLanes.Zero;
            for (int k = 0; k < m; k++)
            {
                var p = TLanes.Load(phiT + k * ld + j);
                T* d = gradPhiT + k * ld + j;
                // ∂φ's eight terms in four chains: one chain of eight dependent multiply-adds would wait on each one's latency.
                var b = TLanes.Broadcast(g[k]);
                a0 = TLanes.MultiplyAdd(p, b, a0);
                var c0 = TLanes.MultiplyAdd(x0, b, TLanes.Load(d));
                b = TLanes.Broadcast(g1[k]);
                a1 = TLanes.MultiplyAdd(p, b, a1);
                var c1 = TLanes.Multiply(x1, b);
                b = TLanes.Broadcast(g2[k]);
                a2 = TLanes.MultiplyAdd(p, b, a2);
                var c2 = TLanes.Multiply(x2, b);
                b = TLanes.Broadcast(g3[k]);
                a3 = TLanes.MultiplyAdd(p, b, a3);
                var c3 = TLanes.Multiply(x3, b);
                b = TLanes.Broadcast(g4[k]);
                a4 = TLanes.MultiplyAdd(p, b, a4);
                c0 = TLanes.MultiplyAdd(x4, b, c0);
                b = TLanes.Broadcast(g5[k]);
                a5 = TLanes.MultiplyAdd(p, b, a5);
                c1 = TLanes.MultiplyAdd(x5, b, c1);
                b = TLanes.Broadcast(g6[k]);
                a6 = TLanes.MultiplyAdd(p, b, a6);
                c2 = TLanes.MultiplyAdd(x6, b, c2);
                b = TLanes.Broadcast(g7[k]);
                a7 = TLanes.MultiplyAdd(p, b, a7);
                c3 = TLanes.MultiplyAdd(x7, b, c3);
                TLanes.Store(d, TLanes.Add(TLanes.Add(c0, c1), TLanes.Add(c2, c3)));
            }
            T* dvj = dv + j;
            TLanes.Store(dvj, a0);
            TLanes.Store(dvj + width, a1);
            TLanes.Store(dvj + 2L * width, a2);
            TLanes.Store(dvj + 3L * width, a3);
            TLanes.Store(dvj + 4L * width, a4);
            TLanes.Store(dvj + 5L * width, a5);
            TLanes.Store(dvj + 6L * width, a6);
            TLanes.Store(dvj + 7L * width, a7);
        }
        for (int t = 0; t < Tokens; t++)
            ScalarTail(x + (long)t * width, g + t * m, phiT, gradPhiT, ld, dv + (long)t * width, m, j, width);
    }

    /// <summary>
    /// Projections at which <see cref="Input"/> and <see cref="GradPhi24"/> (or, on 32-byte lanes, <see cref="GradPhi12"/>
    /// twice) replace <see cref="Backward"/>: n = 4's 24. On lanes of 64 bytes, 32 registers hold a column of ∂φᵀ's 24
    /// rows with room to spare; on AVX2's 32-byte lanes and sixteen registers, half a column. The combined tile's 22
    /// live vectors spill there on every multiply-add pair.
    /// </summary>
    public static bool SplitsProducts(int m) => m == 24 && (WideLanes || NarrowLanes);

    private static bool WideLanes => TLanes.Count * sizeof(T) == 64;

    private static bool NarrowLanes => TLanes.Count * sizeof(T) == 32;

    /// <summary>
    /// Columns of φᵀ whose m rows fill half of L1 (24 KiB), a multiple of the lanes: <see cref="Input"/> over that many
    /// columns at a time reads its φᵀ from L1 for every tile of tokens, where the whole φᵀ (96 KiB at nC = 1024) would
    /// come from L2 each time.
    /// </summary>
    public static int ColumnsInL1(int m) => Math.Max(1, (24 << 10) / (m * sizeof(T)) / TLanes.Count) * TLanes.Count;

    /// <summary>
    /// Eight tokens' dv[t,:] = Σ_k g[t,k]·φᵀ[k,:] alone (<see cref="Backward"/>'s first product, same order of sums), over
    /// <paramref name="width"/> columns of rows <paramref name="stride"/> apart: two vectors of columns at a time, so that
    /// sixteen sums are in flight and each broadcast g[t,k] serves two multiply-adds (one vector at a time, the loads of φᵀ
    /// and the broadcasts outnumbered the multiply-adds); then one vector, then single columns.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Input(T* g, T* phiT, long ld, T* dv, int m, int width, long stride)
    {
        int lanes = TLanes.Count, j = 0;
        T* g1 = g + m, g2 = g + 2 * m, g3 = g + 3 * m, g4 = g + 4 * m, g5 = g + 5 * m, g6 = g + 6 * m, g7 = g + 7 * m;
        if (!WideLanes)
        {
            // Sixteen registers: the tile's two halves of four tokens in turn, eight sums each, φᵀ's columns from L1 twice.
            for (; j <= width - 2 * lanes; j += 2 * lanes)
            {
                InputFourTokens(g, phiT + j, ld, dv + j, m, stride);
                InputFourTokens(g4, phiT + j, ld, dv + j + 4 * stride, m, stride);
            }
        }
        for (; j <= width - 2 * lanes; j += 2 * lanes)
        {
            TVector a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero, a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero, a7 = TLanes.Zero;
            TVector b0 = TLanes.Zero, b1 = TLanes.Zero, b2 = TLanes.Zero, b3 = TLanes.Zero, b4 = TLanes.Zero, b5 = TLanes.Zero, b6 = TLanes.Zero, b7 = TLanes.Zero;
            T* column = phiT + j;
            for (int k = 0; k < m; k++, column += ld)
            {
                var p = TLanes.Load(column);
                var q = TLanes.Load(column + lanes);
                var s = TLanes.Broadcast(g[k]); a0 = TLanes.MultiplyAdd(p, s, a0); b0 = TLanes.MultiplyAdd(q, s, b0);
                s = TLanes.Broadcast(g1[k]); a1 = TLanes.MultiplyAdd(p, s, a1); b1 = TLanes.MultiplyAdd(q, s, b1);
                s = TLanes.Broadcast(g2[k]); a2 = TLanes.MultiplyAdd(p, s, a2); b2 = TLanes.MultiplyAdd(q, s, b2);
                s = TLanes.Broadcast(g3[k]); a3 = TLanes.MultiplyAdd(p, s, a3); b3 = TLanes.MultiplyAdd(q, s, b3);
                s = TLanes.Broadcast(g4[k]); a4 = TLanes.MultiplyAdd(p, s, a4); b4 = TLanes.MultiplyAdd(q, s, b4);
                s = TLanes.Broadcast(g5[k]); a5 = TLanes.MultiplyAdd(p, s, a5); b5 = TLanes.MultiplyAdd(q, s, b5);
                s = TLanes.Broadcast(g6[k]); a6 = TLanes.MultiplyAdd(p, s, a6); b6 = TLanes.MultiplyAdd(q, s, b6);
                s = TLanes.Broadcast(g7[k]); a7 = TLanes.MultiplyAdd(p, s, a7); b7 = TLanes.MultiplyAdd(q, s, b7);
            }
            T* dvj = dv + j;
            TLanes.Store(dvj, a0); TLanes.Store(dvj + lanes, b0);
            TLanes.Store(dvj + stride, a1); TLanes.Store(dvj + stride + lanes, b1);
            TLanes.Store(dvj + 2 * stride, a2); TLanes.Store(dvj + 2 * stride + lanes, b2);
            TLanes.Store(dvj + 3 * stride, a3); TLanes.Store(dvj + 3 * stride + lanes, b3);
            TLanes.Store(dvj + 4 * stride, a4); TLanes.Store(dvj + 4 * stride + lanes, b4);
            TLanes.Store(dvj + 5 * stride, a5); TLanes.Store(dvj + 5 * stride + lanes, b5);
            TLanes.Store(dvj + 6 * stride, a6); TLanes.Store(dvj + 6 * stride + lanes, b6);
            TLanes.Store(dvj + 7 * stride, a7); TLanes.Store(dvj + 7 * stride + lanes, b7);
        }
        for (; j <= width - lanes; j += lanes)
        {
            TVector a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero, a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero, a7 = TLanes.Zero;
            T* column = phiT + j;
            for (int k = 0; k < m; k++, column += ld)
            {
                var p = TLanes.Load(column);
                a0 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g[k]), a0);
                a1 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g1[k]), a1);
                a2 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g2[k]), a2);
                a3 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g3[k]), a3);
                a4 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g4[k]), a4);
                a5 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g5[k]), a5);
                a6 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g6[k]), a6);
                a7 = TLanes.MultiplyAdd(p, TLanes.Broadcast(g7[k]), a7);
            }
            T* dvj = dv + j;
            TLanes.Store(dvj, a0);
            TLanes.Store(dvj + stride, a1);
            TLanes.Store(dvj + 2 * stride, a2);
            TLanes.Store(dvj + 3 * stride, a3);
            TLanes.Store(dvj + 4 * stride, a4);
            TLanes.Store(dvj + 5 * stride, a5);
            TLanes.Store(dvj + 6 * stride, a6);
            TLanes.Store(dvj + 7 * stride, a7);
        }
        for (int t = 0; t < Tokens; t++)
            InputTail(g + t * m, phiT, ld, dv + t * stride, m, j, width);
    }

    /// <summary>
    /// Four tokens' dv over two vectors of columns (<see cref="Input"/>'s order of sums): eight sums in flight. Not inlined:
    /// inside <see cref="Input"/>, whose eight token pointers are live, three of the four here went to the stack and were
    /// loaded again for every row of φᵀ.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void InputFourTokens(T* g, T* column, long ld, T* dv, int m, long stride)
    {
        int lanes = TLanes.Count;
        T* g1 = g + m, g2 = g + 2 * m, g3 = g + 3 * m;
        TVector a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero;
        TVector b0 = TLanes.Zero, b1 = TLanes.Zero, b2 = TLanes.Zero, b3 = TLanes.Zero;
        for (int k = 0; k < m; k++, column += ld)
        {
            var p = TLanes.Load(column);
            var q = TLanes.Load(column + lanes);
            var s = TLanes.Broadcast(g[k]); a0 = TLanes.MultiplyAdd(p, s, a0); b0 = TLanes.MultiplyAdd(q, s, b0);
            s = TLanes.Broadcast(g1[k]); a1 = TLanes.MultiplyAdd(p, s, a1); b1 = TLanes.MultiplyAdd(q, s, b1);
            s = TLanes.Broadcast(g2[k]); a2 = TLanes.MultiplyAdd(p, s, a2); b2 = TLanes.MultiplyAdd(q, s, b2);
            s = TLanes.Broadcast(g3[k]); a3 = TLanes.MultiplyAdd(p, s, a3); b3 = TLanes.MultiplyAdd(q, s, b3);
        }
        TLanes.Store(dv, a0); TLanes.Store(dv + lanes, b0);
        TLanes.Store(dv + stride, a1); TLanes.Store(dv + stride + lanes, b1);
        TLanes.Store(dv + 2 * stride, a2); TLanes.Store(dv + 2 * stride + lanes, b2);
        TLanes.Store(dv + 3 * stride, a3); TLanes.Store(dv + 3 * stride + lanes, b3);
    }

    /// <summary>One token's dv alone, for the tokens after a block's last full tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void InputOne(T* g, T* phiT, long ld, T* dv, int m, int width)
    {
        int lanes = TLanes.Count, j = 0;
        for (; j <= width - lanes; j += lanes)
        {
            TVector a = TLanes.Zero;
            for (int k = 0; k < m; k++)
                a = TLanes.MultiplyAdd(TLanes.Load(phiT + k * ld + j), TLanes.Broadcast(g[k]), a);
            TLanes.Store(dv + j, a);
        }
        InputTail(g, phiT, ld, dv, m, j, width);
    }

    private static void InputTail(T* g, T* phiT, long ld, T* dv, int m, int from, int width)
    {
        for (int j = from; j < width; j++)
        {
            T a = T.Zero;
            for (int k = 0; k < m; k++)
                a += g[k] * phiT[k * ld + j];
            dv[j] = a;
        }
    }

    /// <summary>
    /// ∂φᵀ[k,:] += Σ_t g[t,k]·x[t,:] over <paramref name="count"/> tokens, m = 24 (<see cref="SplitsProducts"/>): a column of
    /// lanes of all 24 rows stays in registers while the tokens stream past, one load of x and 24 multiply-adds with
    /// broadcast g each, so ∂φᵀ is read and written once per column and block rather than once per row and tile of eight
    /// (<see cref="Backward"/> reads φᵀ and ∂φᵀ, together twice L1's size, from L2 for every sixteen multiply-adds). x's
    /// block should be in cache: the columns walk it a row apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradPhi24(T* x, T* g, T* gradPhiT, long ld, long count, int width)
    {
        const int m = 24;
        int lanes = TLanes.Count, j = 0;
        for (; j <= width - lanes; j += lanes)
        {
            T* d = gradPhiT + j;
            var c0 = TLanes.Load(d); var c1 = TLanes.Load(d + ld); var c2 = TLanes.Load(d + 2 * ld); var c3 = TLanes.Load(d + 3 * ld);
            var c4 = TLanes.Load(d + 4 * ld); var c5 = TLanes.Load(d + 5 * ld); var c6 = TLanes.Load(d + 6 * ld); var c7 = TLanes.Load(d + 7 * ld);
            var c8 = TLanes.Load(d + 8 * ld); var c9 = TLanes.Load(d + 9 * ld); var c10 = TLanes.Load(d + 10 * ld); var c11 = TLanes.Load(d + 11 * ld);
            var c12 = TLanes.Load(d + 12 * ld); var c13 = TLanes.Load(d + 13 * ld); var c14 = TLanes.Load(d + 14 * ld); var c15 = TLanes.Load(d + 15 * ld);
            var c16 = TLanes.Load(d + 16 * ld); var c17 = TLanes.Load(d + 17 * ld); var c18 = TLanes.Load(d + 18 * ld); var c19 = TLanes.Load(d + 19 * ld);
            var c20 = TLanes.Load(d + 20 * ld); var c21 = TLanes.Load(d + 21 * ld); var c22 = TLanes.Load(d + 22 * ld); var c23 = TLanes.Load(d + 23 * ld);
            T* xt = x + j, gt = g;
            for (long t = 0; t < count; t++, xt += width, gt += m)
            {
                var v = TLanes.Load(xt);
                c0 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[0]), c0);
                c1 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[1]), c1);
                c2 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[2]), c2);
                c3 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[3]), c3);
                c4 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[4]), c4);
                c5 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[5]), c5);
                c6 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[6]), c6);
                c7 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[7]), c7);
                c8 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[8]), c8);
                c9 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[9]), c9);
                c10 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[10]), c10);
                c11 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[11]), c11);
                c12 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[12]), c12);
                c13 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[13]), c13);
                c14 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[14]), c14);
                c15 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[15]), c15);
                c16 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[16]), c16);
                c17 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[17]), c17);
                c18 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[18]), c18);
                c19 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[19]), c19);
                c20 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[20]), c20);
                c21 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[21]), c21);
                c22 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[22]), c22);
                c23 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[23]), c23);
            }
            TLanes.Store(d, c0); TLanes.Store(d + ld, c1); TLanes.Store(d + 2 * ld, c2); TLanes.Store(d + 3 * ld, c3);
            TLanes.Store(d + 4 * ld, c4); TLanes.Store(d + 5 * ld, c5); TLanes.Store(d + 6 * ld, c6); TLanes.Store(d + 7 * ld, c7);
            TLanes.Store(d + 8 * ld, c8); TLanes.Store(d + 9 * ld, c9); TLanes.Store(d + 10 * ld, c10); TLanes.Store(d + 11 * ld, c11);
            TLanes.Store(d + 12 * ld, c12); TLanes.Store(d + 13 * ld, c13); TLanes.Store(d + 14 * ld, c14); TLanes.Store(d + 15 * ld, c15);
            TLanes.Store(d + 16 * ld, c16); TLanes.Store(d + 17 * ld, c17); TLanes.Store(d + 18 * ld, c18); TLanes.Store(d + 19 * ld, c19);
            TLanes.Store(d + 20 * ld, c20); TLanes.Store(d + 21 * ld, c21); TLanes.Store(d + 22 * ld, c22); TLanes.Store(d + 23 * ld, c23);
        }
        GradPhiColumns(x, g, gradPhiT, ld, count, width, j, 0, m);
    }

    /// <summary>
    /// <see cref="GradPhi24"/> for rows [<paramref name="first"/>, first + 12) of ∂φᵀ (m = 24): half a column in twelve
    /// registers, for AVX2's sixteen; the caller runs both halves, each walking the block's x once. Same order of sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradPhi12(T* x, T* g, int first, T* gradPhiT, long ld, long count, int width)
    {
        const int m = 24;
        int lanes = TLanes.Count, j = 0;
        T* rows = gradPhiT + first * ld;
        T* gFirst = g + first;
        for (; j <= width - lanes; j += lanes)
        {
            T* d = rows + j;
            var c0 = TLanes.Load(d); var c1 = TLanes.Load(d + ld); var c2 = TLanes.Load(d + 2 * ld); var c3 = TLanes.Load(d + 3 * ld);
            var c4 = TLanes.Load(d + 4 * ld); var c5 = TLanes.Load(d + 5 * ld); var c6 = TLanes.Load(d + 6 * ld); var c7 = TLanes.Load(d + 7 * ld);
            var c8 = TLanes.Load(d + 8 * ld); var c9 = TLanes.Load(d + 9 * ld); var c10 = TLanes.Load(d + 10 * ld); var c11 = TLanes.Load(d + 11 * ld);
            T* xt = x + j, gt = gFirst;
            for (long t = 0; t < count; t++, xt += width, gt += m)
            {
                var v = TLanes.Load(xt);
                c0 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[0]), c0);
                c1 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[1]), c1);
                c2 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[2]), c2);
                c3 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[3]), c3);
                c4 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[4]), c4);
                c5 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[5]), c5);
                c6 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[6]), c6);
                c7 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[7]), c7);
                c8 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[8]), c8);
                c9 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[9]), c9);
                c10 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[10]), c10);
                c11 = TLanes.MultiplyAdd(v, TLanes.Broadcast(gt[11]), c11);
            }
            TLanes.Store(d, c0); TLanes.Store(d + ld, c1); TLanes.Store(d + 2 * ld, c2); TLanes.Store(d + 3 * ld, c3);
            TLanes.Store(d + 4 * ld, c4); TLanes.Store(d + 5 * ld, c5); TLanes.Store(d + 6 * ld, c6); TLanes.Store(d + 7 * ld, c7);
            TLanes.Store(d + 8 * ld, c8); TLanes.Store(d + 9 * ld, c9); TLanes.Store(d + 10 * ld, c10); TLanes.Store(d + 11 * ld, c11);
        }
        GradPhiColumns(x, g, gradPhiT, ld, count, width, j, first, first + 12);
    }

    /// <summary>The split ∂φᵀ's columns [<paramref name="from"/>, width) of rows [<paramref name="firstRow"/>, <paramref name="endRow"/>), one at a time (m = 24).</summary>
    private static void GradPhiColumns(T* x, T* g, T* gradPhiT, long ld, long count, int width, int from, int firstRow, int endRow)
    {
        const int m = 24;
        for (int j = from; j < width; j++)
            for (int k = firstRow; k < endRow; k++)
            {
                T sum = gradPhiT[k * ld + j];
                for (long t = 0; t < count; t++)
                    sum += g[t * m + k] * x[t * width + j];
                gradPhiT[k * ld + j] = sum;
            }
    }

    /// <summary>
    /// ∂φᵀ's terms of a block for <see cref="SplitsProducts"/>: <see cref="GradPhi24"/> on 64-byte lanes, else
    /// <see cref="GradPhi12"/> for each half of the rows.
    /// </summary>
    public static void GradPhiSplit(T* x, T* g, T* gradPhiT, long ld, long count, int width)
    {
        if (WideLanes)
            GradPhi24(x, g, gradPhiT, ld, count, width);
        else
        {
            GradPhi12(x, g, 0, gradPhiT, ld, count, width);
            GradPhi12(x, g, 12, gradPhiT, ld, count, width);
        }
    }

    /// <summary>One token, for the tokens after a chunk's last full tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardOne(T* x, T* g, T* phiT, T* gradPhiT, long ld, T* dv, int m, int width)
    {
        int lanes = TLanes.Count, j = 0;
        for (; j <= width - lanes; j += lanes)
        {
            var xj = TLanes.Load(x + j);
            TVector a = TLanes.Zero;
            for (int k = 0; k < m; k++)
            {
                var b = TLanes.Broadcast(g[k]);
                a = TLanes.MultiplyAdd(TLanes.Load(phiT + k * ld + j), b, a);
                T* d = gradPhiT + k * ld + j;
                TLanes.Store(d, TLanes.MultiplyAdd(xj, b, TLanes.Load(d)));
            }
            TLanes.Store(dv + j, a);
        }
        ScalarTail(x, g, phiT, gradPhiT, ld, dv, m, j, width);
    }

    /// <summary>Columns [from, width) of one token, where width is not a multiple of the lanes.</summary>
    private static void ScalarTail(T* x, T* g, T* phiT, T* gradPhiT, long ld, T* dv, int m, int from, int width)
    {
        for (int j = from; j < width; j++)
        {
            T a = T.Zero;
            for (int k = 0; k < m; k++)
            {
                a += g[k] * phiT[k * ld + j];
                gradPhiT[k * ld + j] += g[k] * x[j];
            }
            dv[j] = a;
        }
    }

    /// <summary>φ [width, m] into φᵀ [m, ld].</summary>
    public static void Transpose(T* phi, T* phiT, int width, int m, long ld)
    {
        for (int j = 0; j < width; j++)
            for (int k = 0; k < m; k++)
                phiT[k * ld + j] = phi[(long)j * m + k];
    }

    /// <summary>
    /// A leading dimension for [m, width] rows: whole cache lines, an odd number of them, so that consecutive rows fall in
    /// different L1 sets (rows a power of two apart share a few sets, and the tile walks all m rows at once).
    /// </summary>
    public static long PaddedWidth(int width)
    {
        int line = 64 / sizeof(T);
        long lines = (width + line - 1) / line;
        return (lines % 2 == 0 ? lines + 1 : lines) * line;
    }
}
