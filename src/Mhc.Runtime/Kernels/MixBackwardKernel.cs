using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// A connection's whole mix backward in one pass over the stream state x [tokens, n, C] (MHC-SPEC §7 backward), a
/// block of tokens at a time with the block's x, ∂h and the merge's ∂out in L2: the streams' reductions ∂H_pre[j] =
/// x[j,:]·∂h and ∂M[i,j] = ∂out[i,:]·x[j,:] (the merge leaves this one to the mix, so that it need not read x), Sinkhorn's
/// backward and the coefficients' chain rule for the block's tokens, then ∂x and ∂φ's terms from
/// <see cref="InputGradientKernel{T}.Rows"/>. Reading x once where separate kernels read it four times (the merge's
/// ∂M, ∂H_pre, ∂φ and ∂x) is most of what fusing saves: everything else a token needs is a few hundred bytes.
/// ∂φ, ∂b and ∂α are summed per chunk and the partials added in chunk order, so results do not depend on thread timing.
/// </summary>
internal static unsafe class MixBackwardKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    /// <summary>What the pass reads and writes; gradient pointers null where none arrived.</summary>
    /// <param name="stats">The forward's saved p, r and sigmoids [tokens, StatsPerToken].</param>
    /// <param name="pre">H_pre [tokens, n]; <paramref name="logits"/> the H_res logits [tokens, n, n].</param>
    /// <param name="dh">∂h [tokens, C]; <paramref name="gradPost"/> ∂H_post [tokens, n] (the merge's).</param>
    /// <param name="mix">M, the matrix the merge applied, and <paramref name="dy"/> the merge's ∂out [tokens, n, C]: the deferred merge.</param>
    public readonly struct Operands(CoefficientsShape shape, T* x, T* phi, T* bias, T* alpha, T* stats, T* pre, T* logits,
        T* dh, T* gradPost, T* mix, T* dy, T* dx, T* gradPhi, T* gradBias, T* gradAlpha)
    {
        public readonly CoefficientsShape Shape = shape;
        public readonly T* X = x, Phi = phi, Bias = bias, Alpha = alpha, Stats = stats, Pre = pre, Logits = logits;
        public readonly T* Dh = dh, GradPost = gradPost, Mix = mix, Dy = dy;
        public readonly T* Dx = dx, GradPhi = gradPhi, GradBias = gradBias, GradAlpha = gradAlpha;
    }

    /// <summary>How H_res was made from its logits, and how the merge applied it.</summary>
    /// <param name="SoftmaxEpsilon">Null: Sinkhorn from exp (MHC-SPEC); else from a row softmax with this ε (DeepSeek-V4).</param>
    /// <param name="Transposed">The merge applied H_resᵀ: ∂H_res = ∂Mᵀ.</param>
    public readonly record struct Mixing(int Iterations, T? SoftmaxEpsilon, bool Transposed);

    public static void Compute(Operands o, CoefficientsForm<T> form, Mixing mixing)
    {
        var shape = o.Shape;
        int m = shape.Projections, n = shape.N, nn = n * n, width = shape.Width;
        long work = (4L * m + 2L * n + nn + 8) * width + nn * (14L * mixing.Iterations + 8);
        var chunks = TokenChunks.Plan(shape.Tokens, work, ProjectionTile<T, VectorLanes<T>, Vector<T>>.Tokens, chunksPerCore: 1);
        using var products = new InputGradientKernel<T>.Products(o.Phi, width, m, chunks.Count);
        using var chainPartials = new CoefficientsKernel<T>.ChainPartials(m, chunks.Count);
        int block = BlockTokens(shape);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, chunk) =>
        {
            using var scratch = new BlockScratch(shape, block, mixing.Iterations, mixing.SoftmaxEpsilon is not null);
            var chain = new CoefficientsKernel<T>.Chain(shape, form, o.Bias, o.Alpha);
            T* phiPartial = products.Partial(chunk), chainPartial = chainPartials.Partial(chunk);
            for (long first = start; first < end; first += block)
            {
                long count = Math.Min(block, end - first);
                Block(o, mixing, scratch, chain, first, count, chainPartial);
                var rows = new InputGradientKernel<T>.Operands(shape, o.X + first * width, scratch.Gq, null, scratch.Scale,
                    o.Pre + first * n, o.Dh == null ? null : o.Dh + first * shape.Channels, o.Dy == null ? null : o.Mix + first * nn,
                    o.Dy == null ? null : o.Dy + first * width, o.Dx + first * width, null);
                InputGradientKernel<T>.Rows(rows, products, phiPartial, 0, count);
            }
        });
        products.SumInto(o.GradPhi);
        chainPartials.SumInto(o.GradBias, o.GradAlpha);
    }

    /// <summary>
    /// Tokens per block: x, ∂out, ∂h and ∂x of a block together about 1 MiB, so they stay in L2 between the reductions
    /// and the ∂x pass; a multiple of the products' tile and of Sinkhorn's vector of tokens.
    /// </summary>
    internal static int BlockTokens(CoefficientsShape shape)
    {
        long bytesPerToken = (3L * shape.Width + shape.Channels) * sizeof(T);
        long tokens = (1L << 20) / Math.Max(1, bytesPerToken);
        return (int)Math.Clamp(tokens / 8 * 8, 8, 64);
    }

    /// <summary>The block's reductions, Sinkhorn backward and chain rule: gq and scale for its tokens, in scratch.</summary>
    private static void Block(Operands o, Mixing mixing, BlockScratch scratch, CoefficientsKernel<T>.Chain chain, long first, long count, T* chainPartial)
    {
        var shape = o.Shape;
        int n = shape.N, nn = n * n, channels = shape.Channels;
        bool mixGradient = o.Dy != null;
        for (long row = 0; row < count; row++)
        {
            long token = first + row;
            T* x = o.X + token * shape.Width;
            T* dPre = o.Dh == null ? null : scratch.GradPre + row * n;
            T* dMix = mixGradient ? scratch.GradMix + row * nn : null;
            StreamGradients(x, o.Dh == null ? null : o.Dh + token * channels, o.Dy == null ? null : o.Dy + token * shape.Width, dPre, dMix, n, channels);
        }

        T* gradLogits = null;
        if (mixGradient)
        {
            T* gradRes = scratch.GradMix;
            if (mixing.Transposed)
            {
                for (long row = 0; row < count; row++)
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++)
                            scratch.GradRes[row * nn + i * n + j] = scratch.GradMix[row * nn + j * n + i];
                gradRes = scratch.GradRes;
            }
            gradLogits = scratch.GradLogits;
            T* logits = o.Logits + first * nn;
            if (mixing.SoftmaxEpsilon is { } eps)
                SoftmaxSinkhornKernel<T>.BackwardRange(logits, gradRes, gradLogits, 0, count, n, mixing.Iterations, eps, scratch.Sinkhorn);
            else
                SinkhornKernel<T>.BackwardRange(logits, gradRes, gradLogits, 0, count, n, mixing.Iterations, scratch.Sinkhorn);
        }

        var gradients = new CoefficientsKernel<T>.OutputGradients(o.Dh == null ? null : scratch.GradPre,
            o.GradPost == null ? null : o.GradPost + first * n, gradLogits, n);
        chain.Run(o.Stats + first * shape.StatsPerToken, gradients, count, scratch.Gq, scratch.Scale, chainPartial);
    }

    /// <summary>One token's ∂H_pre[j] = x[j,:]·dh (dh null: none) and ∂M[i,j] = dy[i,:]·x[j,:] (dy null: none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StreamGradients(T* x, T* dh, T* dy, T* dPre, T* dMix, int n, int channels)
    {
        if (n == 4 && dy != null)
        {
            // Two rows of dy at a time: ten accumulators (twelve with dh's) and seven loaded vectors stay in registers.
            if (ProjectionLanes<T>.Wide)
            {
                Reductions4<Lanes512<T>, Vector512<T>>(x, dy, dh, dMix, dPre, channels);
                Reductions4<Lanes512<T>, Vector512<T>>(x, dy + 2 * channels, null, dMix + 8, null, channels);
            }
            else
            {
                Reductions4<VectorLanes<T>, Vector<T>>(x, dy, dh, dMix, dPre, channels);
                Reductions4<VectorLanes<T>, Vector<T>>(x, dy + 2 * channels, null, dMix + 8, null, channels);
            }
        }
        else
        {
            for (int j = 0; j < n && dh != null; j++)
                dPre[j] = VectorMath<T>.Dot(x + (long)j * channels, dh, channels);
            for (int i = 0; i < n && dy != null; i++)
                for (int j = 0; j < n; j++)
                    dMix[i * n + j] = VectorMath<T>.Dot(dy + (long)i * channels, x + (long)j * channels, channels);
        }
    }

    /// <summary>n = 4: rows u = dy[0], w = dy[1] of ∂M (eight dot products with x's four rows) and, given dh, ∂H_pre's four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Reductions4<TLanes, TVector>(T* x, T* u, T* dh, T* dMix, T* dPre, int channels) where TLanes : struct, ILanes<TVector, T> where TVector : struct
    {
        T* w = u + channels;
        T* x1 = x + channels, x2 = x + 2 * channels, x3 = x + 3 * channels;
        TVector u0 = TLanes.Zero, u1 = TLanes.Zero, u2 = TLanes.Zero, u3 = TLanes.Zero, w0 = TLanes.Zero, w1 = TLanes.Zero, w2 = TLanes.Zero, w3 = TLanes.Zero;
        TVector h0 = TLanes.Zero, h1 = TLanes.Zero, h2 = TLanes.Zero, h3 = TLanes.Zero;
        int c = 0, lanes = TLanes.Count;
        for (; c <= channels - lanes; c += lanes)
        {
            var a = TLanes.Load(u + c);
            var b = TLanes.Load(w + c);
            var v0 = TLanes.Load(x + c);
            var v1 = TLanes.Load(x1 + c);
            var v2 = TLanes.Load(x2 + c);
            var v3 = TLanes.Load(x3 + c);
            u0 = TLanes.MultiplyAdd(a, v0, u0);
            u1 = TLanes.MultiplyAdd(a, v1, u1);
            u2 = TLanes.MultiplyAdd(a, v2, u2);
            u3 = TLanes.MultiplyAdd(a, v3, u3);
            w0 = TLanes.MultiplyAdd(b, v0, w0);
            w1 = TLanes.MultiplyAdd(b, v1, w1);
            w2 = TLanes.MultiplyAdd(b, v2, w2);
            w3 = TLanes.MultiplyAdd(b, v3, w3);
            if (dh != null)
            {
                var g = TLanes.Load(dh + c);
                h0 = TLanes.MultiplyAdd(g, v0, h0);
                h1 = TLanes.MultiplyAdd(g, v1, h1);
                h2 = TLanes.MultiplyAdd(g, v2, h2);
                h3 = TLanes.MultiplyAdd(g, v3, h3);
            }
        }
        T* dw = dMix + 4;
        dMix[0] = TLanes.Sum(u0); dMix[1] = TLanes.Sum(u1); dMix[2] = TLanes.Sum(u2); dMix[3] = TLanes.Sum(u3);
        dw[0] = TLanes.Sum(w0); dw[1] = TLanes.Sum(w1); dw[2] = TLanes.Sum(w2); dw[3] = TLanes.Sum(w3);
        if (dh != null)
        {
            dPre[0] = TLanes.Sum(h0); dPre[1] = TLanes.Sum(h1); dPre[2] = TLanes.Sum(h2); dPre[3] = TLanes.Sum(h3);
        }
        for (; c < channels; c++)
        {
            T a = u[c], b = w[c], e0 = x[c], e1 = x1[c], e2 = x2[c], e3 = x3[c];
            dMix[0] += a * e0; dMix[1] += a * e1; dMix[2] += a * e2; dMix[3] += a * e3;
            dw[0] += b * e0; dw[1] += b * e1; dw[2] += b * e2; dw[3] += b * e3;
            if (dh != null)
            {
                T g = dh[c];
                dPre[0] += g * e0; dPre[1] += g * e1; dPre[2] += g * e2; dPre[3] += g * e3;
            }
        }
    }

    /// <summary>One chunk's scratch for its blocks: the reductions, Sinkhorn's trace, gq and scale.</summary>
    private sealed class BlockScratch : IDisposable
    {
        private readonly void* _memory;

        public BlockScratch(CoefficientsShape shape, int block, int iterations, bool softmax)
        {
            int n = shape.N, nn = n * n;
            long sinkhorn = softmax ? SoftmaxSinkhornKernel<T>.BackwardScratch(n, iterations) : SinkhornKernel<T>.BackwardScratch(n, iterations);
            long elements = (long)block * (n + 3 * nn + shape.Projections + 1);
            _memory = NativeMemory.AlignedAlloc((nuint)(sinkhorn * sizeof(Vector<T>) + elements * sizeof(T)), 64);
            Sinkhorn = (Vector<T>*)_memory;
            GradPre = (T*)(Sinkhorn + sinkhorn);
            GradMix = GradPre + (long)block * n;
            GradRes = GradMix + (long)block * nn;
            GradLogits = GradRes + (long)block * nn;
            Gq = GradLogits + (long)block * nn;
            Scale = Gq + (long)block * shape.Projections;
        }

        public Vector<T>* Sinkhorn { get; }
        public T* GradPre { get; }
        public T* GradMix { get; }
        public T* GradRes { get; }
        public T* GradLogits { get; }
        public T* Gq { get; }
        public T* Scale { get; }

        public void Dispose() => NativeMemory.AlignedFree(_memory);
    }
}
