using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// The one pass over x that makes ∂x and ∂φ in the coefficients' backward, and in a connection's mix (x as
/// [tokens, n, C], v its rows of nC): per tile of tokens, dx = gq·φᵀ and ∂φ's partial vᵀ·gq from
/// <see cref="ProjectionTile{T, TLanes, TVector}"/>, then, while the tile is in cache, the RMS norm's scale·x, the pre-mix's
/// H_pre ⊗ dh and the merge's Σ_i M[i,j]·dy[i,:] added to each row. Against two BLAS products and a pass after them
/// this reads x once instead of three times, and dx is written once instead of written, read and written again.
/// At n = 4 the two products run apart over blocks of 64 tokens that stay in L2 (<see cref="SplitRows"/>), each with its
/// operands in L1 and registers: φᵀ and ∂φᵀ together overflow L1 in the combined tile, whose live vectors also overflow
/// AVX2's sixteen registers.
/// </summary>
internal static unsafe class InputGradientKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    /// <summary>What one pass reads and writes; pointers null where a term is left out.</summary>
    /// <param name="gq">∂loss/∂(v·φ) [tokens, m] from the chain rule.</param>
    /// <param name="phi">φ [nC, m] as stored.</param>
    /// <param name="scale">The factor of x in the RMS norm's term [tokens].</param>
    /// <param name="weights">H_pre [tokens, n]; with <paramref name="dh"/> [tokens, C], the pre-mix's term (both null: none).</param>
    /// <param name="mix">The matrix the merge applied [tokens, n, n]; with <paramref name="dy"/> [tokens, n, C], the merge's term.</param>
    /// <param name="dx">∂x [tokens, n, C], written.</param>
    /// <param name="gradPhi">∂φ [nC, m], written.</param>
    public readonly struct Operands(CoefficientsShape shape, T* x, T* gq, T* phi, T* scale, T* weights, T* dh, T* mix, T* dy, T* dx, T* gradPhi)
    {
        public readonly CoefficientsShape Shape = shape;
        public readonly T* X = x, Gq = gq, Phi = phi, Scale = scale, Weights = weights, Dh = dh, Mix = mix, Dy = dy, Dx = dx, GradPhi = gradPhi;
    }

    public static void Compute(Operands o)
    {
        var shape = o.Shape;
        int m = shape.Projections, width = shape.Width;
        // A partial ∂φ per chunk, so one chunk per core keeps them few: each is m·ld, summed after the run.
        var chunks = TokenChunks.Plan(shape.Tokens, (4L * m + 3 + shape.N) * width, ProjectionTile<T, VectorLanes<T>, Vector<T>>.Tokens, chunksPerCore: 1);
        using var products = new Products(o.Phi, width, m, chunks.Count);
        chunks.Run((start, end, chunk) => Rows(o, products, products.Partial(chunk), start, end));
        products.SumInto(o.GradPhi);
    }

    /// <summary>
    /// φᵀ laid out for <see cref="ProjectionTile{T, TLanes, TVector}"/> ([m, ld]) and one partial ∂φᵀ per chunk, zeroed by
    /// <see cref="Partial"/> on the chunk's own thread and summed in chunk order by <see cref="SumInto"/>.
    /// </summary>
    internal sealed class Products : IDisposable
    {
        private readonly ScratchArray<T> _phiT, _partials;
        private readonly int _width, _m, _count;

        public Products(T* phi, int width, int m, int chunks)
        {
            (_width, _m, _count) = (width, m, chunks);
            Ld = ProjectionTile<T, VectorLanes<T>, Vector<T>>.PaddedWidth(width);
            _phiT = new ScratchArray<T>(m * Ld);
            _partials = new ScratchArray<T>(Math.Max(1, chunks) * m * Ld);
            ProjectionTile<T, VectorLanes<T>, Vector<T>>.Transpose(phi, _phiT.Pointer, width, m, Ld);
        }

        public long Ld { get; }

        public T* PhiT => _phiT.Pointer;

        /// <summary>Chunk <paramref name="chunk"/>'s partial ∂φᵀ, zeroed.</summary>
        public T* Partial(int chunk)
        {
            T* partial = _partials.Pointer + chunk * _m * Ld;
            new Span<T>(partial, checked((int)(_m * Ld))).Clear();
            return partial;
        }

        /// <summary>∂φ [width, m] = the partials summed in chunk order (zero without chunks).</summary>
        public void SumInto(T* gradPhi) => SumPartials(_partials.Pointer, _count, gradPhi, _width, _m, Ld);

        public void Dispose()
        {
            _phiT.Dispose();
            _partials.Dispose();
        }
    }

    /// <summary>
    /// Tokens [start, end) of <paramref name="o"/> on the calling thread: dx = gq·φᵀ + the other terms, and ∂φᵀ's terms
    /// added to <paramref name="partial"/> (a chunk's of <paramref name="products"/>), on the lanes
    /// <see cref="ProjectionLanes{T}.Wide"/> selects.
    /// </summary>
    internal static void Rows(Operands o, Products products, T* partial, long start, long end)
    {
        if (ProjectionLanes<T>.Wide)
            Rows<Lanes512<T>, Vector512<T>>(o, products.PhiT, partial, products.Ld, start, end);
        else
            Rows<VectorLanes<T>, Vector<T>>(o, products.PhiT, partial, products.Ld, start, end);
    }

    /// <summary>
    /// Tokens per block of the split products (<see cref="ProjectionTile{T, TLanes, TVector}.SplitsProducts"/>): their x
    /// and dx rows (64·nC values, 256 KiB at nC = 1024 in float32) stay in L2 between the dv tiles, the other terms and
    /// the ∂φᵀ columns that walk them again.
    /// </summary>
    private const int SplitBlockTokens = 64;

    /// <summary>
    /// <see cref="Rows(Operands, Products, T*, long, long)"/> on one width: the products split in two
    /// (<see cref="SplitRows{TLanes, TVector}"/>) where <see cref="ProjectionTile{T, TLanes, TVector}.SplitsProducts"/>,
    /// otherwise both in one tile of eight tokens, the rest one token at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows<TLanes, TVector>(Operands o, T* phiT, T* partial, long ld, long start, long end) where TLanes : struct, ILanes<TVector, T> where TVector : struct
    {
        int m = o.Shape.Projections, width = o.Shape.Width, tile = ProjectionTile<T, TLanes, TVector>.Tokens;
        if (ProjectionTile<T, TLanes, TVector>.SplitsProducts(m))
        {
            SplitRows<TLanes, TVector>(o, phiT, partial, ld, start, end);
            return;
        }
        long token = start;
        for (; token + tile <= end; token += tile)
        {
            ProjectionTile<T, TLanes, TVector>.Backward(o.X + token * width, o.Gq + token * m, phiT, partial, ld, o.Dx + token * width, m, width);
            for (int t = 0; t < tile; t++)
                AddRow(o, token + t);
        }
        for (; token < end; token++)
        {
            ProjectionTile<T, TLanes, TVector>.BackwardOne(o.X + token * width, o.Gq + token * m, phiT, partial, ld, o.Dx + token * width, m, width);
            AddRow(o, token);
        }
    }

    /// <summary>
    /// Blocks of <see cref="SplitBlockTokens"/>: dv for the block's tiles one L1-sized range of φᵀ's columns at a time, the
    /// other terms, then ∂φᵀ over the whole block with its 24 rows in registers. dx's sums keep the combined tile's order
    /// (the same bits); ∂φ's run over the block's tokens in one chain per lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SplitRows<TLanes, TVector>(Operands o, T* phiT, T* partial, long ld, long start, long end) where TLanes : struct, ILanes<TVector, T> where TVector : struct
    {
        int m = o.Shape.Projections, width = o.Shape.Width, tile = ProjectionTile<T, TLanes, TVector>.Tokens;
        int columns = ProjectionTile<T, TLanes, TVector>.ColumnsInL1(m);
        for (long first = start; first < end; first += SplitBlockTokens)
        {
            long last = Math.Min(end, first + SplitBlockTokens);
            for (int from = 0; from < width; from += columns)
            {
                int count = Math.Min(columns, width - from);
                long row = first;
                for (; row + tile <= last; row += tile)
                    ProjectionTile<T, TLanes, TVector>.Input(o.Gq + row * m, phiT + from, ld, o.Dx + row * width + from, m, count, width);
                for (; row < last; row++)
                    ProjectionTile<T, TLanes, TVector>.InputOne(o.Gq + row * m, phiT + from, ld, o.Dx + row * width + from, m, count);
            }
            for (long row = first; row < last; row++)
                AddRow(o, row);
            ProjectionTile<T, TLanes, TVector>.GradPhiSplit(o.X + first * width, o.Gq + first * m, partial, ld, last - first, width);
        }
    }

    /// <summary>∂φ [width, m] = the chunks' partial ∂φᵀ [m, ld] summed in chunk order (zero without tokens).</summary>
    private static void SumPartials(T* partials, int count, T* gradPhi, int width, int m, long ld)
    {
        for (int k = 0; k < m; k++)
        {
            for (int j = 0; j < width; j++)
            {
                T sum = T.Zero;
                for (int c = 0; c < count; c++)
                    sum += partials[(c * m + k) * ld + j];
                gradPhi[(long)j * m + k] = sum;
            }
        }
    }

    /// <summary>Adds the RMS norm's, the pre-mix's and the merge's terms to one token's dx, which holds gq·φᵀ.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(Operands o, long token)
    {
        int n = o.Shape.N, channels = o.Shape.Channels;
        long rows = token * n * channels;
        var t = new Row(o.X + rows, o.Weights == null ? null : o.Weights + token * n, o.Scale[token],
            o.Dh == null ? null : o.Dh + token * channels, o.Mix == null ? null : o.Mix + token * n * n,
            o.Dy == null ? null : o.Dy + rows, o.Dx + rows);
        if (n == 4 && t.Dh != null && t.Dy != null)
        {
            if (ProjectionLanes<T>.Wide)
                AddRow4<Lanes512<T>, Vector512<T>>(t, channels);
            else
                AddRow4<VectorLanes<T>, Vector<T>>(t, channels);
        }
        else
            AddRowAnyN(t, n, channels);
    }

    /// <summary>One token's operands of <see cref="AddRow"/>.</summary>
    private readonly struct Row(T* x, T* w, T scale, T* dh, T* m, T* dy, T* dx)
    {
        public readonly T* X = x, W = w, Dh = dh, M = m, Dy = dy, Dx = dx;
        public readonly T Scale = scale;
    }

    /// <summary>n = 4 with all three terms: dh and the four rows of dy loaded once per vector of channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRow4<TLanes, TVector>(Row t, int channels) where TLanes : struct, ILanes<TVector, T> where TVector : struct
    {
        T* m = t.M;
        var s = TLanes.Broadcast(t.Scale);
        int c = 0, lanes = TLanes.Count;
        for (; c <= channels - lanes; c += lanes)
        {
            var dh = TLanes.Load(t.Dh + c);
            var a = TLanes.Load(t.Dy + c);
            var b = TLanes.Load(t.Dy + channels + c);
            var d = TLanes.Load(t.Dy + 2 * channels + c);
            var e = TLanes.Load(t.Dy + 3 * channels + c);
            for (int j = 0; j < 4; j++)
            {
                T* dxj = t.Dx + j * channels + c;
                var acc = TLanes.MultiplyAdd(TLanes.Load(t.X + j * channels + c), s, TLanes.Load(dxj));
                acc = TLanes.MultiplyAdd(dh, TLanes.Broadcast(t.W[j]), acc);
                acc = TLanes.MultiplyAdd(a, TLanes.Broadcast(m[j]), acc);
                acc = TLanes.MultiplyAdd(b, TLanes.Broadcast(m[4 + j]), acc);
                acc = TLanes.MultiplyAdd(d, TLanes.Broadcast(m[8 + j]), acc);
                acc = TLanes.MultiplyAdd(e, TLanes.Broadcast(m[12 + j]), acc);
                TLanes.Store(dxj, acc);
            }
        }
        for (; c < channels; c++)
        {
            T dh = t.Dh[c], a = t.Dy[c], b = t.Dy[channels + c], d = t.Dy[2 * channels + c], e = t.Dy[3 * channels + c];
            for (int j = 0; j < 4; j++)
                t.Dx[j * channels + c] += t.X[j * channels + c] * t.Scale + dh * t.W[j] + a * m[j] + b * m[4 + j] + d * m[8 + j] + e * m[12 + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AddRowAnyN(Row t, int n, int channels)
    {
        var s = new Vector<T>(t.Scale);
        for (int j = 0; j < n; j++)
        {
            T* xj = t.X + (long)j * channels;
            T* dxj = t.Dx + (long)j * channels;
            var w = t.Dh == null ? default : new Vector<T>(t.W[j]);
            int c = 0;
            for (; c <= channels - Width; c += Width)
            {
                var acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(xj + c), s, VectorMath<T>.Load(dxj + c));
                if (t.Dh != null)
                    acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(t.Dh + c), w, acc);
                if (t.Dy != null)
                    for (int i = 0; i < n; i++)
                        acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(t.Dy + (long)i * channels + c), new Vector<T>(t.M[i * n + j]), acc);
                VectorMath<T>.Store(dxj + c, acc);
            }
            for (; c < channels; c++)
            {
                T acc = xj[c] * t.Scale;
                if (t.Dh != null)
                    acc += t.Dh[c] * t.W[j];
                if (t.Dy != null)
                    for (int i = 0; i < n; i++)
                        acc += t.Dy[(long)i * channels + c] * t.M[i * n + j];
                dxj[c] += acc;
            }
        }
    }
}
