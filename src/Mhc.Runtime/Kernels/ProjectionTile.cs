using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mhc.Runtime.Kernels;

/// <summary>Which lanes the products with φ run on (<see cref="ProjectionTile{T, TLanes}"/>), for every kernel that has them.</summary>
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
internal static unsafe class ProjectionTile<T, TLanes>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TLanes : struct, ILanes<TLanes, T>
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
            TLanes a0 = TLanes.Zero, a1 = TLanes.Zero, a2 = TLanes.Zero, a3 = TLanes.Zero, a4 = TLanes.Zero, a5 = TLanes.Zero, a6 = TLanes.Zero, a7 = TLanes.Zero;
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

    /// <summary>One token, for the tokens after a chunk's last full tile.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BackwardOne(T* x, T* g, T* phiT, T* gradPhiT, long ld, T* dv, int m, int width)
    {
        int lanes = TLanes.Count, j = 0;
        for (; j <= width - lanes; j += lanes)
        {
            var xj = TLanes.Load(x + j);
            TLanes a = TLanes.Zero;
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
