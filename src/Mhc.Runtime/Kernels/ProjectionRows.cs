using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// The coefficients' forward product q = v·φ for n = 4 in float32, with φ's rows in the order stored ([nC, 24]): the
/// lanes run over the 24 projections, so each row of φ is loaded once per tile of <see cref="Tokens"/> tokens and
/// each of their elements of v is broadcast into the multiply-adds. x is read once, by the tile, and the coefficients'
/// per-token end (‖v‖, the sigmoids, the pre-mix) then finds the tile's rows in cache. BLAS's product at these 24
/// columns runs at about half its speed on wide products, and the pass after it reads x from memory again.
/// On 512-bit lanes a tile is eight tokens, with φ packed in row pairs (<see cref="Pack"/>) so that every lane is busy;
/// on 256-bit lanes (AVX2 machines) four tokens, three registers each, with φ as stored (ProjectionRows.Narrow.cs).
/// </summary>
internal static unsafe partial class ProjectionRows
{
    /// <summary>Projections per token the tile is written for: n² + 2n at n = 4.</summary>
    public const int Projections = 24;

    /// <summary>Tokens per 512-bit tile: sixteen accumulators cover the multiply-adds' latency, two rows of φ and a broadcast the rest.</summary>
    public const int WideTokens = 8;

    /// <summary>Tokens per tile on the lanes in use (<see cref="ProjectionLanes{T}.Wide"/>).</summary>
    public static int Tokens => ProjectionLanes<float>.Wide ? WideTokens : NarrowTokens;

    /// <summary>Whether <see cref="Tile"/> serves a product with <paramref name="m"/> projections on this machine.</summary>
    public static bool Applies(int m, int width)
        => m == Projections && (ProjectionLanes<float>.Wide ? width % 2 == 0 : Vector256.IsHardwareAccelerated && Fma.IsSupported);

    /// <summary>
    /// φ [width, 24] as <see cref="Tile"/> reads it, at <paramref name="layout"/>: packed in row pairs on 512-bit lanes
    /// (<see cref="Pack"/>; the returned scratch holds it, for the caller to dispose), φ itself on 256-bit lanes (null).
    /// </summary>
    public static ScratchArray<float>? Layout(float* phi, int width, out float* layout)
    {
        if (!ProjectionLanes<float>.Wide)
        {
            layout = phi;
            return null;
        }
        var packed = new ScratchArray<float>((long)width * Projections);
        Pack(phi, packed.Pointer, width);
        layout = packed.Pointer;
        return packed;
    }

    /// <summary>
    /// q[t, 0..24) = Σ_r x[t, r]·φ[r, 0..24) for the <see cref="Tokens"/> tokens whose rows start at <paramref name="x"/>,
    /// <paramref name="width"/> apart, with φ as <see cref="Layout"/> gave it; token t's projections go to
    /// q + t·<paramref name="qStride"/>.
    /// </summary>
    public static void Tile(float* x, float* layout, float* q, long qStride, int width)
    {
        if (ProjectionLanes<float>.Wide)
            TileWide(x, layout, q, qStride, width);
        else
            TileNarrow(x, layout, q, qStride, width);
    }

    /// <summary>Floats of <see cref="Pack"/>'s layout per pair of φ's rows.</summary>
    private const int PairLength = 2 * Projections;

    /// <summary>
    /// φ [width, 24] laid out for <see cref="TileWide"/> ([width/2, 48], <paramref name="width"/> even), a pair of rows r, r + 1 at a
    /// time: row r's first 16 projections, row r + 1's, then the last 8 of both interleaved (r's, r + 1's, r's, …), so
    /// that one 512-bit multiply-add by the broadcast pair (v[r], v[r + 1]) covers both rows' last 8 with no lane idle.
    /// </summary>
    public static void Pack(float* phi, float* packed, int width)
    {
        var interleave = Vector512.Create(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        for (int r = 0; r < width; r += 2, packed += PairLength)
        {
            float* row = phi + (long)r * Projections, next = row + Projections;
            Vector512.Load(row).Store(packed);
            Vector512.Load(next).Store(packed + 16);
            Vector512.Shuffle(Vector512.Create(Vector256.Load(row + 16), Vector256.Load(next + 16)), interleave).Store(packed + 32);
        }
    }

    /// <summary>
    /// <see cref="Tile"/> on 512-bit lanes, for <see cref="WideTokens"/> tokens, φ as <see cref="Pack"/> laid it out.
    /// Each token's first 16 projections accumulate in one register over every row, its last 8 in the two halves of
    /// each pair of another (even rows in the even lanes), added pairwise at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public static void TileWide(float* x, float* packed, float* q, long qStride, int width)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default, b5 = default, b6 = default, b7 = default;
        float* x4 = x + 4L * width;
        long w = width;
        float* pair = packed;
        for (int r = 0; r < width; r += 2, pair += PairLength)
        {
            var first = Vector512.Load(pair);
            var second = Vector512.Load(pair + 16);
            var last = Vector512.Load(pair + 32);
            float* xr = x + r, xr4 = x4 + r;
            a0 = Row(xr, first, a0); c0 = Row(xr + 1, second, c0); b0 = Pairs(xr, last, b0);
            a1 = Row(xr + w, first, a1); c1 = Row(xr + w + 1, second, c1); b1 = Pairs(xr + w, last, b1);
            a2 = Row(xr + 2 * w, first, a2); c2 = Row(xr + 2 * w + 1, second, c2); b2 = Pairs(xr + 2 * w, last, b2);
            a3 = Row(xr + 3 * w, first, a3); c3 = Row(xr + 3 * w + 1, second, c3); b3 = Pairs(xr + 3 * w, last, b3);
            a4 = Row(xr4, first, a4); c4 = Row(xr4 + 1, second, c4); b4 = Pairs(xr4, last, b4);
            a5 = Row(xr4 + w, first, a5); c5 = Row(xr4 + w + 1, second, c5); b5 = Pairs(xr4 + w, last, b5);
            a6 = Row(xr4 + 2 * w, first, a6); c6 = Row(xr4 + 2 * w + 1, second, c6); b6 = Pairs(xr4 + 2 * w, last, b6);
            a7 = Row(xr4 + 3 * w, first, a7); c7 = Row(xr4 + 3 * w + 1, second, c7); b7 = Pairs(xr4 + 3 * w, last, b7);
        }
        Store(q, a0 + c0, b0); Store(q + qStride, a1 + c1, b1); Store(q + 2 * qStride, a2 + c2, b2); Store(q + 3 * qStride, a3 + c3, b3);
        Store(q + 4 * qStride, a4 + c4, b4); Store(q + 5 * qStride, a5 + c5, b5); Store(q + 6 * qStride, a6 + c6, b6); Store(q + 7 * qStride, a7 + c7, b7);
    }

    /// <summary>One token and row: a + v[0]·(the row's first 16 projections).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(float* v, Vector512<float> row, Vector512<float> a)
        => Vector512.FusedMultiplyAdd(row, Vector512.Create(v[0]), a);

    /// <summary>One token and pair of rows: b + (v[r], v[r + 1]) broadcast in pairs times both rows' last 8, interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pairs(float* v, Vector512<float> last, Vector512<float> b)
        => Vector512.FusedMultiplyAdd(last, Vector512.Create(*(double*)v).AsSingle(), b);

    /// <summary>A token's 24 projections: the first 16, then the last 8 as the sums of the even and odd rows' lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* q, Vector512<float> first, Vector512<float> pairs)
    {
        first.Store(q);
        // Lanes 2k and 2k + 1 hold projection 16 + k's sums over the even and the odd rows.
        var odd = Vector512.Shuffle(pairs, Vector512.Create(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
        var sums = pairs + odd;
        for (int k = 0; k < 8; k++)
            q[16 + k] = sums.GetElement(2 * k);
    }
}
