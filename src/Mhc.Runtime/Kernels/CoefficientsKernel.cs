using System.Runtime.CompilerServices;
using System.Numerics;

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

    /// <summary>φ [nC, m] → φᵀ [m, nC] in a pinned array.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static T[] Transpose(T* phi, int rows, int cols)
    {
        var result = GC.AllocateUninitializedArray<T>(rows * cols, pinned: true);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = phi[(long)r * cols + c];
        return result;
    }

    /// <summary>
    /// Writes H_pre [tokens, n], H_post [tokens, n], the H_res logits [tokens, n²], and into
    /// <paramref name="stats"/> (pinned, [tokens, m + 1]) each token's p and r.
    /// </summary>
    public static void Forward(CoefficientsShape shape, T* x, T[] phiT, T* bias, T* alpha, T eps,
        T* pre, T* post, T* res, T[] stats)
    {
        int d = shape.Width, m = shape.Projections, n = shape.N;
        var chunks = TokenChunks.Plan(shape.Tokens, 2L * m * d, Tile);
        nint xs = (nint)x, bs = (nint)bias, preOut = (nint)pre, postOut = (nint)post, resOut = (nint)res;
        T alphaPre = alpha[0], alphaPost = alpha[1], alphaRes = alpha[2];
        T invWidth = T.One / T.CreateTruncating(d);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            fixed (T* phiRows = phiT)
            fixed (T* statsBase = stats)
            {
                var q = stackalloc T[Tile];
                for (long token = start; token < end; token += Tile)
                {
                    int count = (int)Math.Min(Tile, end - token);
                    T* v0 = TokenRow((T*)xs, token, 0, count, d);
                    T* v1 = TokenRow((T*)xs, token, 1, count, d);
                    T* v2 = TokenRow((T*)xs, token, 2, count, d);
                    T* v3 = TokenRow((T*)xs, token, 3, count, d);
                    for (int k = 0; k < m; k++)
                    {
                        Dot4(phiRows + (long)k * d, v0, v1, v2, v3, d, q);
                        for (int t = 0; t < count; t++)
                            statsBase[(token + t) * (m + 1) + k] = q[t];
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
            }
        });
    }

    /// <summary>
    /// Gradients of the coefficients w.r.t. x, φ, bias and α. Missing output gradients (null) count as
    /// zero. Weight gradients are summed per chunk and the partials added in chunk order at the end, so
    /// results do not depend on thread timing.
    /// </summary>
    public static void Backward(CoefficientsShape shape, T* x, T[] phiT, T* bias, T* alpha, T[] stats,
        T* gradPre, T* gradPost, T* gradRes,
        T* gradX, T* gradPhi, T* gradBias, T* gradAlpha)
    {
        int d = shape.Width, m = shape.Projections, n = shape.N;
        var chunks = TokenChunks.Plan(shape.Tokens, 3L * m * d, Tile, chunksPerCore: 1);
        int partialSize = m * d + m + 3;
        var partials = new T[chunks.Count][];
        nint xs = (nint)x, bs = (nint)bias, gPre = (nint)gradPre, gPost = (nint)gradPost, gRes = (nint)gradRes, gx = (nint)gradX;
        var alphas = new[] { alpha[0], alpha[1], alpha[2] };
        T invWidth = T.One / T.CreateTruncating(d);

        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, chunk) =>
        {
            var partial = GC.AllocateArray<T>(partialSize, pinned: true);
            partials[chunk] = partial;
            var gq = new T[Tile * m];
            var gvScale = new T[Tile];
            fixed (T* phiRows = phiT)
            fixed (T* statsBase = stats)
            fixed (T* gPhiT = partial)
            fixed (T* gq0 = gq)
            fixed (T* scale = gvScale)
            {
                T* gB = gPhiT + (long)m * d;
                T* gA = gB + m;
                for (long token = start; token < end; token += Tile)
                {
                    int count = (int)Math.Min(Tile, end - token);
                    for (int t = 0; t < Tile; t++)
                    {
                        T* gqRow = gq0 + t * m;
                        if (t >= count)
                        {
                            // Padding tokens contribute nothing to φ's gradient.
                            new Span<T>(gqRow, m).Clear();
                            scale[t] = T.Zero;
                            continue;
                        }
                        long tok = token + t;
                        T* p = statsBase + tok * (m + 1);
                        T r = p[m];
                        T gr = T.Zero;
                        for (int k = 0; k < m; k++)
                        {
                            int group = k < n ? 0 : k < 2 * n ? 1 : 2;
                            T gz = PreActivationGradient(k, n, tok, p[k], alphas[group], ((T*)bs)[k], (T*)gPre, (T*)gPost, (T*)gRes);
                            gB[k] += gz;
                            gA[group] += gz * p[k];
                            T gp = alphas[group] * gz;
                            gr -= gp * p[k];
                            gqRow[k] = gp / r;
                        }
                        gr /= r;
                        scale[t] = gr * invWidth / r;
                    }

                    T* v0 = TokenRow((T*)xs, token, 0, count, d);
                    T* v1 = TokenRow((T*)xs, token, 1, count, d);
                    T* v2 = TokenRow((T*)xs, token, 2, count, d);
                    T* v3 = TokenRow((T*)xs, token, 3, count, d);
                    AccumulateTile(phiRows, gPhiT, gq0, scale, v0, v1, v2, v3, (T*)gx + token * d, count, m, d);
                }
            }
        });

        Reduce(partials, m, d, gradPhi, gradBias, gradAlpha);
    }

    /// <summary>∂loss/∂z for projection k of one token, z being the pre-activation α·p + b.</summary>
    private static T PreActivationGradient(int k, int n, long token, T p, T alpha, T bias, T* gradPre, T* gradPost, T* gradRes)
    {
        if (k < n)
        {
            if (gradPre == null)
                return T.Zero;
            T s = VectorMath<T>.Sigmoid(alpha * p + bias);
            return gradPre[token * n + k] * s * (T.One - s);
        }
        if (k < 2 * n)
        {
            if (gradPost == null)
                return T.Zero;
            T s = VectorMath<T>.Sigmoid(alpha * p + bias);
            return gradPost[token * n + k - n] * T.CreateTruncating(2) * s * (T.One - s);
        }
        return gradRes == null ? T.Zero : gradRes[token * n * n + k - 2 * n];
    }

    /// <summary>
    /// For a tile of tokens: gv = φ·gq + scale·v into <paramref name="gradX"/>, and gφᵀ += gq ⊗ v into the
    /// chunk's partial, one pass over φᵀ for the whole tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AccumulateTile(T* phiT, T* gPhiT, T* gq, T* scale, T* v0, T* v1, T* v2, T* v3,
        T* gradX, int count, int m, int d)
    {
        int w = Width;
        int i = 0;
        for (; i <= d - w; i += w)
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
                long at = (long)k * d + i;
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
        for (; i < d; i++)
        {
            xs[0] = v0[i];
            xs[1] = v1[i];
            xs[2] = v2[i];
            xs[3] = v3[i];
            for (int t = 0; t < count; t++)
            {
                T acc = xs[t] * scale[t];
                for (int k = 0; k < m; k++)
                    acc += phiT[(long)k * d + i] * gq[t * m + k];
                gradX[(long)t * d + i] = acc;
            }
            for (int k = 0; k < m; k++)
            {
                T sum = T.Zero;
                for (int t = 0; t < Tile; t++)
                    sum += gq[t * m + k] * xs[t];
                gPhiT[(long)k * d + i] += sum;
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

    /// <summary>Adds the chunks' partials in chunk order and lays gφ back out as [nC, m].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Reduce(T[][] partials, int m, int d, T* gradPhi, T* gradBias, T* gradAlpha)
    {
        int size = m * d + m + 3;
        var total = new T[size];
        fixed (T* sum = total)
        {
            foreach (var partial in partials)
                fixed (T* part = partial)
                    VectorMath<T>.Add(sum, part, size);
            for (int k = 0; k < m; k++)
                for (int i = 0; i < d; i++)
                    gradPhi[(long)i * m + k] = sum[(long)k * d + i];
            for (int k = 0; k < m; k++)
                gradBias[k] = sum[(long)m * d + k];
            for (int g = 0; g < 3; g++)
                gradAlpha[g] = sum[(long)m * d + m + g];
        }
    }

    /// <summary>Row <paramref name="t"/> of a tile, or the tile's last real row where the tile is short.</summary>
    private static T* TokenRow(T* x, long token, int t, int count, int d) => x + (token + Math.Min(t, count - 1)) * d;

    /// <summary>Four dot products of one weight row with four token rows, sharing the weight loads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot4(T* w, T* a, T* b, T* c, T* e, int length, T* result)
    {
        var s0 = Vector<T>.Zero;
        var s1 = Vector<T>.Zero;
        var s2 = Vector<T>.Zero;
        var s3 = Vector<T>.Zero;
        int width = Width;
        int i = 0;
        for (; i <= length - width; i += width)
        {
            var wv = VectorMath<T>.Load(w + i);
            s0 = VectorMath<T>.MultiplyAdd(wv, VectorMath<T>.Load(a + i), s0);
            s1 = VectorMath<T>.MultiplyAdd(wv, VectorMath<T>.Load(b + i), s1);
            s2 = VectorMath<T>.MultiplyAdd(wv, VectorMath<T>.Load(c + i), s2);
            s3 = VectorMath<T>.MultiplyAdd(wv, VectorMath<T>.Load(e + i), s3);
        }
        T r0 = Vector.Sum(s0), r1 = Vector.Sum(s1), r2 = Vector.Sum(s2), r3 = Vector.Sum(s3);
        for (; i < length; i++)
        {
            r0 += w[i] * a[i];
            r1 += w[i] * b[i];
            r2 += w[i] * c[i];
            r3 += w[i] * e[i];
        }
        result[0] = r0;
        result[1] = r1;
        result[2] = r2;
        result[3] = r3;
    }
}
