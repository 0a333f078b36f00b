using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>Shapes of one coefficients computation: n streams of C channels, m = n² + 2n projections.</summary>
internal readonly record struct CoefficientsShape(long Tokens, int N, int Channels)
{
    public int Width => N * Channels;
    public int Projections => N * N + 2 * N;
    /// <summary>Per token the kernel keeps p (m values) and r for the backward.</summary>
    public int StatsPerToken => Projections + 1;
}

/// <summary>
/// The mHC coefficient kernel (MHC-SPEC §2, §7 a–b): v·φ and ‖v‖ in one pass over each token's
/// v = vec(x), then the scalar scale/bias/sigmoid work. φ is used transposed ([m, nC]) so that every
/// projection is a contiguous dot product, and tokens go four at a time so each φ row load serves four.
/// </summary>
internal static unsafe class CoefficientsKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private const int Tile = 4;
    private static int Width => Vector<T>.Count;

    /// <summary>
    /// Row stride of φᵀ and of its gradient partials: nC rounded up to whole vectors plus one cache line.
    /// With nC a power of two the rows would otherwise all map to the same L1 sets, and the backward,
    /// which touches every row of both for each column block, would miss L1 on nearly every access.
    /// </summary>
    public static int PhiStride(int width) => (width + Width - 1) / Width * Width + 64 / sizeof(T);

    /// <summary>Elements of φᵀ as the kernels lay it out.</summary>
    public static int TransposedLength(CoefficientsShape shape) => shape.Projections * PhiStride(shape.Width);

    /// <summary>φ [nC, m] → φᵀ [m, <see cref="PhiStride"/>] in <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(T* phi, CoefficientsShape shape, T* destination)
    {
        int rows = shape.Width, cols = shape.Projections, stride = PhiStride(rows);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                destination[(long)c * stride + r] = phi[(long)r * cols + c];
    }

    /// <summary>
    /// Writes H_pre [tokens, n], H_post [tokens, n], the H_res logits [tokens, n²], and into
    /// <paramref name="stats"/> ([tokens, m + 1]) each token's p and r. φᵀ comes from <see cref="Transpose"/>.
    /// </summary>
    public static void Forward(CoefficientsShape shape, T* x, T* phiT, T* bias, T* alpha, T eps,
        T* pre, T* post, T* res, T* stats)
    {
        int d = shape.Width, m = shape.Projections, n = shape.N;
        int ld = PhiStride(d);
        var chunks = TokenChunks.Plan(shape.Tokens, 2L * m * d, Tile);
        nint xs = (nint)x, bs = (nint)bias, preOut = (nint)pre, postOut = (nint)post, resOut = (nint)res;
        nint phiAddress = (nint)phiT, statsAddress = (nint)stats;
        T alphaPre = alpha[0], alphaPost = alpha[1], alphaRes = alpha[2];
        T invWidth = T.One / T.CreateTruncating(d);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            T* phiRows = (T*)phiAddress;
            T* statsBase = (T*)statsAddress;
            var q = stackalloc T[2 * Tile];
            for (long token = start; token < end; token += Tile)
            {
                int count = (int)Math.Min(Tile, end - token);
                T* v0 = TokenRow((T*)xs, token, 0, count, d);
                T* v1 = TokenRow((T*)xs, token, 1, count, d);
                T* v2 = TokenRow((T*)xs, token, 2, count, d);
                T* v3 = TokenRow((T*)xs, token, 3, count, d);
                for (int k = 0; k < m; k += 2)
                {
                    // With m odd the last pair repeats its row; the repeat is not stored.
                    int next = Math.Min(k + 1, m - 1);
                    DotTile(phiRows + (long)k * ld, phiRows + (long)next * ld, v0, v1, v2, v3, d, q);
                    for (int t = 0; t < count; t++)
                    {
                        statsBase[(token + t) * (m + 1) + k] = q[t];
                        statsBase[(token + t) * (m + 1) + next] = q[Tile + t];
                    }
                }

                for (int t = 0; t < count; t++)
                {
                    long tok = token + t;
                    T* v = (T*)xs + tok * d;
                    T r = T.Sqrt(VectorMath<T>.Dot(v, v, d) * invWidth + eps);
                    T* p = statsBase + tok * (m + 1);
                    T invR = T.One / r;
                    for (int k = 0; k < m; k++)
                        p[k] *= invR;
                    p[m] = r;

                    T* b = (T*)bs;
                    T* preRow = (T*)preOut + tok * n;
                    T* postRow = (T*)postOut + tok * n;
                    T* resRow = (T*)resOut + tok * n * n;
                    for (int i = 0; i < n; i++)
                    {
                        preRow[i] = VectorMath<T>.Sigmoid(alphaPre * p[i] + b[i]);
                        postRow[i] = T.CreateTruncating(2) * VectorMath<T>.Sigmoid(alphaPost * p[n + i] + b[n + i]);
                    }
                    for (int e = 0; e < n * n; e++)
                        resRow[e] = alphaRes * p[2 * n + e] + b[2 * n + e];
                }
            }
        });
    }

    /// <summary>
    /// Gradients of the coefficients w.r.t. x, φ, bias and α. Missing output gradients (null) count as
    /// zero. Weight gradients are summed per chunk and the partials added in chunk order at the end, so
    /// results do not depend on thread timing.
    /// </summary>
    public static void Backward(CoefficientsShape shape, T* x, T* phiT, T* bias, T* alpha, T* stats,
        T* gradPre, T* gradPost, T* gradRes,
        T* gradX, T* gradPhi, T* gradBias, T* gradAlpha)
    {
        int d = shape.Width, m = shape.Projections, n = shape.N;
        var chunks = TokenChunks.Plan(shape.Tokens, 3L * m * d, Tile, chunksPerCore: 2);
        int ld = PhiStride(d);
        int partialSize = m * ld + m + 3;
        // Chunks start on tile boundaries, so per-token scratch indexed by token never straddles two chunks.
        long paddedTokens = (shape.Tokens + Tile - 1) / Tile * Tile;
        using var partials = new ScratchArray<T>(Math.Max(1, chunks.Count) * partialSize);
        using var gq = new ScratchArray<T>(paddedTokens * m);
        using var gvScale = new ScratchArray<T>(paddedTokens);
        partials.Clear(0, partials.Length);
        // The padding rows of a short last tile must contribute nothing.
        gq.Clear(shape.Tokens * m, paddedTokens * m);
        gvScale.Clear(shape.Tokens, paddedTokens);

        nint xs = (nint)x, bs = (nint)bias, gPre = (nint)gradPre, gPost = (nint)gradPost, gRes = (nint)gradRes, gx = (nint)gradX;
        nint phiRows = (nint)phiT, statsBase = (nint)stats;
        nint partialBase = (nint)partials.Pointer, gqBase = (nint)gq.Pointer, scaleBase = (nint)gvScale.Pointer;
        var alphas = new[] { alpha[0], alpha[1], alpha[2] };
        T invWidth = T.One / T.CreateTruncating(d);

        int block = ColumnBlock(m);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, chunk) =>
        {
            T* gPhiT = (T*)partialBase + (long)chunk * partialSize;
            T* gB = gPhiT + (long)m * ld;
            T* gA = gB + m;
            var gradients = new OutputGradients((T*)gPre, (T*)gPost, (T*)gRes);
            for (long token = start; token < end; token++)
            {
                ((T*)scaleBase)[token] = ChainToProjections(token, n, m, (T*)statsBase + token * (m + 1), (T*)bs, alphas,
                    gradients, (T*)gqBase + token * m, gB, gA) * invWidth;
            }

            // φᵀ and the gφᵀ partial go in column blocks small enough to stay in L1 while every token
            // of the chunk passes over them; x and gx are still read and written once in all.
            for (int from = 0; from < d; from += block)
            {
                int to = Math.Min(d, from + block);
                for (long token = start; token < end; token += Tile)
                {
                    int count = (int)Math.Min(Tile, end - token);
                    var tile = new TokenTile(
                        TokenRow((T*)xs, token, 0, count, d), TokenRow((T*)xs, token, 1, count, d),
                        TokenRow((T*)xs, token, 2, count, d), TokenRow((T*)xs, token, 3, count, d),
                        (T*)gqBase + token * m, (T*)scaleBase + token, (T*)gx + token * d, count);
                    AccumulateTile((T*)phiRows, gPhiT, tile, m, d, ld, from, to);
                }
            }
        });

        Reduce(partials.Pointer, chunks.Count, partialSize, m, d, ld, gradPhi, gradBias, gradAlpha);
    }

    /// <summary>
    /// The scalar part of the backward for one token: from the output gradients back through the
    /// sigmoids, α and the 1/r scaling to gq = ∂loss/∂(v·φ), accumulating the bias and α gradients.
    /// Returns ∂loss/∂r / r, the factor of v in gv.
    /// </summary>
    private static T ChainToProjections(long token, int n, int m, T* p, T* bias, T[] alphas, OutputGradients gradients,
        T* gq, T* gradBias, T* gradAlpha)
    {
        T r = p[m];
        T gr = T.Zero;
        for (int k = 0; k < m; k++)
        {
            int group = k < n ? 0 : k < 2 * n ? 1 : 2;
            T gz = gradients.PreActivation(k, n, token, alphas[group] * p[k] + bias[k]);
            gradBias[k] += gz;
            gradAlpha[group] += gz * p[k];
            T gp = alphas[group] * gz;
            gr -= gp * p[k];
            gq[k] = gp / r;
        }
        return gr / (r * r);
    }

    /// <summary>Gradients of H_pre, H_post and the H_res logits, [tokens, ·]; null where none arrived.</summary>
    private readonly struct OutputGradients(T* pre, T* post, T* res)
    {
        /// <summary>∂loss/∂z for projection k of a token, z = α·p + b being its pre-activation.</summary>
        public T PreActivation(int k, int n, long token, T z)
        {
            if (k < n)
                return pre == null ? T.Zero : pre[token * n + k] * SigmoidSlope(z);
            if (k < 2 * n)
                return post == null ? T.Zero : post[token * n + k - n] * T.CreateTruncating(2) * SigmoidSlope(z);
            return res == null ? T.Zero : res[token * n * n + k - 2 * n];
        }

        private static T SigmoidSlope(T z)
        {
            T s = VectorMath<T>.Sigmoid(z);
            return s * (T.One - s);
        }
    }

    /// <summary>Up to four consecutive tokens of a chunk, as the backward's inner loop sees them.</summary>
    private readonly struct TokenTile(T* v0, T* v1, T* v2, T* v3, T* gq, T* scale, T* gradX, int count)
    {
        public readonly T* V0 = v0, V1 = v1, V2 = v2, V3 = v3;
        /// <summary>The tile's gq rows, m apart, and the factors of v in gv.</summary>
        public readonly T* Gq = gq, Scale = scale;
        public readonly T* GradX = gradX;
        public readonly int Count = count;
    }

    /// <summary>Columns per block of φᵀ so that the block and its gradient partial fit in about 16 KiB.</summary>
    private static int ColumnBlock(int m)
    {
        int columns = 16 * 1024 / (2 * m * sizeof(T));
        return Math.Max(Width, columns / Width * Width);
    }

    /// <summary>
    /// For a tile of tokens and columns [from, to): gv = φ·gq + scale·v into the tile's gradX, and
    /// gφᵀ += gq ⊗ v into the chunk's partial, one pass over φᵀ for the whole tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateTile(T* phiT, T* gPhiT, TokenTile tile, int m, int d, int ld, int from, int to)
    {
        T* v0 = tile.V0, v1 = tile.V1, v2 = tile.V2, v3 = tile.V3, gq = tile.Gq, scale = tile.Scale, gradX = tile.GradX;
        int count = tile.Count;
        int w = Width;
        int i = from;
        for (; i <= to - w; i += w)
        {
            var x0 = VectorMath<T>.Load(v0 + i);
            var x1 = VectorMath<T>.Load(v1 + i);
            var x2 = VectorMath<T>.Load(v2 + i);
            var x3 = VectorMath<T>.Load(v3 + i);
            var a0 = x0 * scale[0];
            var a1 = x1 * scale[1];
            var a2 = x2 * scale[2];
            var a3 = x3 * scale[3];
            for (int k = 0; k < m; k++)
            {
                long at = (long)k * ld + i;
                var phi = VectorMath<T>.Load(phiT + at);
                var q0 = new Vector<T>(gq[k]);
                var q1 = new Vector<T>(gq[m + k]);
                var q2 = new Vector<T>(gq[2 * m + k]);
                var q3 = new Vector<T>(gq[3 * m + k]);
                a0 = VectorMath<T>.MultiplyAdd(phi, q0, a0);
                a1 = VectorMath<T>.MultiplyAdd(phi, q1, a1);
                a2 = VectorMath<T>.MultiplyAdd(phi, q2, a2);
                a3 = VectorMath<T>.MultiplyAdd(phi, q3, a3);
                var gPhi = VectorMath<T>.MultiplyAdd(x0, q0, VectorMath<T>.Load(gPhiT + at));
                gPhi = VectorMath<T>.MultiplyAdd(x1, q1, gPhi);
                gPhi = VectorMath<T>.MultiplyAdd(x2, q2, gPhi);
                VectorMath<T>.Store(gPhiT + at, VectorMath<T>.MultiplyAdd(x3, q3, gPhi));
            }
            StoreRows(gradX, d, i, count, a0, a1, a2, a3);
        }
        T* xs = stackalloc T[Tile];
        for (; i < to; i++)
        {
            xs[0] = v0[i];
            xs[1] = v1[i];
            xs[2] = v2[i];
            xs[3] = v3[i];
            for (int t = 0; t < count; t++)
            {
                T acc = xs[t] * scale[t];
                for (int k = 0; k < m; k++)
                    acc += phiT[(long)k * ld + i] * gq[t * m + k];
                gradX[(long)t * d + i] = acc;
            }
            for (int k = 0; k < m; k++)
            {
                T sum = T.Zero;
                for (int t = 0; t < Tile; t++)
                    sum += gq[t * m + k] * xs[t];
                gPhiT[(long)k * ld + i] += sum;
            }
        }
    }

    private static void StoreRows(T* gradX, int d, int i, int count, Vector<T> a0, Vector<T> a1, Vector<T> a2, Vector<T> a3)
    {
        VectorMath<T>.Store(gradX + i, a0);
        if (count > 1) VectorMath<T>.Store(gradX + d + i, a1);
        if (count > 2) VectorMath<T>.Store(gradX + 2L * d + i, a2);
        if (count > 3) VectorMath<T>.Store(gradX + 3L * d + i, a3);
    }

    /// <summary>
    /// Adds the chunks' partials into the first, in chunk order, and lays gφ back out as [nC, m].
    /// With no tokens there is one partial, all zeros.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Reduce(T* partials, int count, int size, int m, int d, int ld, T* gradPhi, T* gradBias, T* gradAlpha)
    {
        T* sum = partials;
        for (int c = 1; c < count; c++)
            VectorMath<T>.Add(sum, partials + (long)c * size, size);
        for (int k = 0; k < m; k++)
            for (int i = 0; i < d; i++)
                gradPhi[(long)i * m + k] = sum[(long)k * ld + i];
        for (int k = 0; k < m; k++)
            gradBias[k] = sum[(long)m * ld + k];
        for (int g = 0; g < 3; g++)
            gradAlpha[g] = sum[(long)m * ld + m + g];
    }

    /// <summary>Row <paramref name="t"/> of a tile, or the tile's last real row where the tile is short.</summary>
    private static T* TokenRow(T* x, long token, int t, int count, int d) => x + (token + Math.Min(t, count - 1)) * d;

    /// <summary>
    /// Dot products of two weight rows with four token rows: eight independent accumulators hide the
    /// multiply-add latency, and each loaded vector serves four (weights) or two (tokens) products.
    /// <paramref name="result"/> gets row w0's four results, then row w1's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTile(T* w0, T* w1, T* a, T* b, T* c, T* e, int length, T* result)
    {
        Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
        Vector<T> u0 = default, u1 = default, u2 = default, u3 = default;
        int width = Width;
        int i = 0;
        for (; i <= length - width; i += width)
        {
            var x = VectorMath<T>.Load(w0 + i);
            var y = VectorMath<T>.Load(w1 + i);
            var va = VectorMath<T>.Load(a + i);
            var vb = VectorMath<T>.Load(b + i);
            var vc = VectorMath<T>.Load(c + i);
            var ve = VectorMath<T>.Load(e + i);
            s0 = VectorMath<T>.MultiplyAdd(x, va, s0);
            s1 = VectorMath<T>.MultiplyAdd(x, vb, s1);
            s2 = VectorMath<T>.MultiplyAdd(x, vc, s2);
            s3 = VectorMath<T>.MultiplyAdd(x, ve, s3);
            u0 = VectorMath<T>.MultiplyAdd(y, va, u0);
            u1 = VectorMath<T>.MultiplyAdd(y, vb, u1);
            u2 = VectorMath<T>.MultiplyAdd(y, vc, u2);
            u3 = VectorMath<T>.MultiplyAdd(y, ve, u3);
        }
        result[0] = Vector.Sum(s0);
        result[1] = Vector.Sum(s1);
        result[2] = Vector.Sum(s2);
        result[3] = Vector.Sum(s3);
        result[4] = Vector.Sum(u0);
        result[5] = Vector.Sum(u1);
        result[6] = Vector.Sum(u2);
        result[7] = Vector.Sum(u3);
        for (; i < length; i++)
        {
            result[0] += w0[i] * a[i];
            result[1] += w0[i] * b[i];
            result[2] += w0[i] * c[i];
            result[3] += w0[i] * e[i];
            result[4] += w1[i] * a[i];
            result[5] += w1[i] * b[i];
            result[6] += w1[i] * c[i];
            result[7] += w1[i] * e[i];
        }
    }
}
