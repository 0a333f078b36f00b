using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>Shapes of one coefficients computation: n streams of C channels, m = n² + 2n projections.</summary>
internal readonly record struct CoefficientsShape(long Tokens, int N, int Channels)
{
    public int Width => N * Channels;
    public int Projections => N * N + 2 * N;
    /// <summary>
    /// Per token the kernel keeps for the backward p (m values), r, and the 2n sigmoids of H_pre and H_post, whose
    /// slopes the backward then needs no exponentials for: [p | r | σ_pre | σ_post].
    /// </summary>
    public int StatsPerToken => Projections + 1 + 2 * N;
}

/// <summary>
/// The mHC coefficient kernel (MHC-SPEC §2, §7 a–b). At n = 4 in float32 the kernel makes the projections v·φ itself in
/// tiles of tokens (<see cref="ForwardTiled"/>, on 512-bit or 256-bit lanes); otherwise from 64 tokens up they come
/// from libtorch's BLAS (<see cref="FromProjections"/>). One pass per token then makes ‖v‖, the scale, bias and
/// sigmoids, and in a connection's mix the pre-mix, with the token's x in cache between them. Below a tile's tokens
/// (or 64 without tiles) the kernel reads φ itself (<see cref="ForwardRowMajor"/>): at a decoding step's few tokens a
/// BLAS call costs more than the products.
/// </summary>
internal static unsafe class CoefficientsKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    /// <summary>Token counts below this take <see cref="ForwardRowMajor"/>; from here up the caller supplies v·φ.</summary>
    public const long RowMajorTokens = 64;

    /// <summary>
    /// Writes H_pre [tokens, n], H_post [tokens, n], the H_res logits [tokens, n²], and into <paramref name="stats"/>
    /// ([tokens, <see cref="CoefficientsShape.StatsPerToken"/>]) each token's p, RMS statistic and sigmoids; given <paramref name="input"/> ([tokens, C]), each token's
    /// pre-mix h = Σ H_pre[i]·x[i,:] too, right after its H_pre: the connection's mix reads x in this one pass.
    /// <paramref name="projections"/>: every token's v·φ ([tokens, m], from BLAS), or null below
    /// <see cref="RowMajorTokens"/>, where φ ([nC, m]) is read as stored.
    /// </summary>
    public static void Compute(CoefficientsShape shape, T* x, T* phi, T* projections, T* bias, T* alpha, CoefficientsForm<T> form,
        T* pre, T* post, T* res, T* stats, T* input = null)
    {
        if (projections != null)
            FromProjections(shape, x, projections, bias, alpha, form, pre, post, res, stats, input);
        else if (ProjectsInTiles(shape))
            ForwardTiled(shape, x, phi, bias, alpha, form, pre, post, res, stats, input);
        else
            ForwardRowMajor(shape, x, phi, bias, alpha, form, pre, post, res, stats, input);
    }

    /// <summary>
    /// Whether <see cref="Compute"/> makes v·φ itself in tiles (<see cref="ProjectionRows"/>: n = 4, float32, 512-bit
    /// lanes or 256-bit lanes with fused multiply-add, from a tile's tokens up), so that the caller passes no projections.
    /// </summary>
    public static bool ProjectsInTiles(CoefficientsShape shape)
        => typeof(T) == typeof(float) && shape.Tokens >= ProjectionRows.Tokens && ProjectionRows.Applies(shape.Projections, shape.Width);

    /// <summary>
    /// <see cref="Compute"/> with v·φ from <see cref="ProjectionRows.Tile"/>, a tile of tokens at a time, each tile's
    /// per-token end right after its product, while the tile's rows of x are in cache: x is read from memory once.
    /// </summary>
    private static void ForwardTiled(CoefficientsShape shape, T* x, T* phi, T* bias, T* alpha, CoefficientsForm<T> form,
        T* pre, T* post, T* res, T* stats, T* input)
    {
        int d = shape.Width, stride = shape.StatsPerToken, tile = ProjectionRows.Tokens;
        var chunks = TokenChunks.Plan(shape.Tokens, 2L * ProjectionRows.Projections * d + (input == null ? 2L : 4L) * d, tile);
        using var packed = ProjectionRows.Layout((float*)phi, d, out float* layout);
        nint xs = (nint)x, phis = (nint)layout, statsAddress = (nint)stats;
        var outputs = new Outputs(bias, alpha, form, pre, post, res, stats, input);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            float* xf = (float*)xs, phiF = (float*)phis, statsF = (float*)statsAddress;
            long token = start;
            for (; token + tile <= end; token += tile)
            {
                ProjectionRows.Tile(xf + token * d, phiF, statsF + token * stride, stride, d);
                for (int t = 0; t < tile; t++)
                    outputs.Finish(shape, (T*)xs, token + t);
            }
            if (token < end)
                TailTile(shape, xf, phiF, statsF, token, end, outputs, (T*)xs);
        });
    }

    /// <summary>A chunk's last tokens, fewer than a tile: their rows copied into a zeroed tile, the products copied back.</summary>
    private static void TailTile(CoefficientsShape shape, float* x, float* layout, float* stats, long start, long end, Outputs outputs, T* xt)
    {
        int d = shape.Width, m = shape.Projections, tile = ProjectionRows.Tokens;
        using var scratch = new ScratchArray<float>((long)tile * (d + m));
        scratch.Clear(0, scratch.Length);
        float* rows = scratch.Pointer, q = rows + (long)tile * d;
        long count = end - start;
        new ReadOnlySpan<float>(x + start * d, checked((int)(count * d))).CopyTo(new Span<float>(rows, checked((int)(count * d))));
        ProjectionRows.Tile(rows, layout, q, m, d);
        for (long t = 0; t < count; t++)
        {
            new ReadOnlySpan<float>(q + t * m, m).CopyTo(new Span<float>(stats + (start + t) * shape.StatsPerToken, m));
            outputs.Finish(shape, xt, start + t);
        }
    }

    /// <summary><see cref="Compute"/> from the projections v·φ [tokens, m] already made.</summary>
    public static void FromProjections(CoefficientsShape shape, T* x, T* projections, T* bias, T* alpha, CoefficientsForm<T> form,
        T* pre, T* post, T* res, T* stats, T* input)
    {
        int d = shape.Width, m = shape.Projections, stride = shape.StatsPerToken;
        var chunks = TokenChunks.Plan(shape.Tokens, 2L * d + 2L * m + (input == null ? 0 : 2L * d));
        nint xs = (nint)x, qs = (nint)projections, statsAddress = (nint)stats;
        var outputs = new Outputs(bias, alpha, form, pre, post, res, stats, input);
        chunks.Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            for (long token = start; token < end; token++)
            {
                new ReadOnlySpan<T>((T*)qs + token * m, m).CopyTo(new Span<T>((T*)statsAddress + token * stride, m));
                outputs.Finish(shape, (T*)xs, token);
            }
        });
    }

    /// <summary>
    /// <see cref="Compute"/> with φ read as stored, [nC, m]: each token's m projections accumulate in registers over
    /// the rows of φ. For few tokens (<see cref="RowMajorTokens"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ForwardRowMajor(CoefficientsShape shape, T* x, T* phi, T* bias, T* alpha, CoefficientsForm<T> form,
        T* pre, T* post, T* res, T* stats, T* input = null)
    {
        int d = shape.Width, m = shape.Projections, width = Width;
        var outputs = new Outputs(bias, alpha, form, pre, post, res, stats, input);
        for (long token = 0; token < shape.Tokens; token++)
        {
            T* v = x + token * d;
            T* q = stats + token * shape.StatsPerToken;
            int k = 0;
            // Three vectors of projections at a time (n = 4: m = 24 is three float32 vectors), over four rows of φ at a
            // time in four sets of sums added at the end: in one set each multiply-add waited for the one before, and a
            // decoding step's token took three times as long. Each row of φ is loaded once per token.
            for (; k <= m - 3 * width; k += 3 * width)
            {
                Vector<T> a0 = default, a1 = default, a2 = default, b0 = default, b1 = default, b2 = default;
                Vector<T> c0 = default, c1 = default, c2 = default, e0 = default, e1 = default, e2 = default;
                T* column = phi + k;
                int r = 0;
                for (; r <= d - 4; r += 4, column += 4 * m)
                {
                    var vr = new Vector<T>(v[r]);
                    a0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column), vr, a0);
                    a1 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + width), vr, a1);
                    a2 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 2 * width), vr, a2);
                    vr = new Vector<T>(v[r + 1]);
                    b0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + m), vr, b0);
                    b1 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + m + width), vr, b1);
                    b2 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + m + 2 * width), vr, b2);
                    vr = new Vector<T>(v[r + 2]);
                    c0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 2 * m), vr, c0);
                    c1 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 2 * m + width), vr, c1);
                    c2 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 2 * m + 2 * width), vr, c2);
                    vr = new Vector<T>(v[r + 3]);
                    e0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 3 * m), vr, e0);
                    e1 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 3 * m + width), vr, e1);
                    e2 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 3 * m + 2 * width), vr, e2);
                }
                for (; r < d; r++, column += m)
                {
                    var vr = new Vector<T>(v[r]);
                    a0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column), vr, a0);
                    a1 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + width), vr, a1);
                    a2 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column + 2 * width), vr, a2);
                }
                VectorMath<T>.Store(q + k, (a0 + b0) + (c0 + e0));
                VectorMath<T>.Store(q + k + width, (a1 + b1) + (c1 + e1));
                VectorMath<T>.Store(q + k + 2 * width, (a2 + b2) + (c2 + e2));
            }
            for (; k <= m - width; k += width)
            {
                Vector<T> a0 = default;
                T* column = phi + k;
                for (int r = 0; r < d; r++, column += m)
                    a0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(column), new Vector<T>(v[r]), a0);
                VectorMath<T>.Store(q + k, a0);
            }
            for (; k < m; k++)
            {
                T sum = T.Zero;
                for (int r = 0; r < d; r++)
                    sum += v[r] * phi[(long)r * m + k];
                q[k] = sum;
            }
            outputs.Finish(shape, x, token);
        }
    }

    /// <summary>
    /// The per-token end of the forward: RMS statistic, 1/r scaling, then the three groups of coefficients, and the
    /// pre-mix where an <paramref name="input"/> is given.
    /// </summary>
    private readonly struct Outputs(T* bias, T* alpha, CoefficientsForm<T> form, T* pre, T* post, T* res, T* stats, T* input)
    {
        /// <summary>Turns the token's raw projections, already in its stats row, into p, r and the coefficients.</summary>
        public void Finish(CoefficientsShape shape, T* x, long token)
        {
            int d = shape.Width, m = shape.Projections, n = shape.N;
            T* v = x + token * d;
            T statistic = form.Statistic(VectorMath<T>.Dot(v, v, d) * (T.One / T.CreateTruncating(d)));
            T* p = stats + token * shape.StatsPerToken;
            T invR = T.One / form.Divisor(statistic);
            VectorMath<T>.Scale(p, invR, p, m);
            p[m] = statistic;

            T* preRow = pre + token * n;
            T* postRow = post + token * n;
            T* resRow = res + token * n * n;
            T* sigmoids = p + m + 1;
            for (int i = 0; i < n; i++)
            {
                sigmoids[i] = alpha[0] * p[i] + bias[i];
                sigmoids[n + i] = alpha[1] * p[n + i] + bias[n + i];
            }
            // The 2n sigmoids at once (at n = 4 one vector): one at a time, their exponentials were most of a token's
            // scalar work here.
            VectorMath<T>.Sigmoids(sigmoids, 2 * n);
            for (int i = 0; i < n; i++)
            {
                preRow[i] = sigmoids[i] + form.PreOffset;
                postRow[i] = T.CreateTruncating(2) * sigmoids[n + i];
            }
            for (int e = 0; e < n * n; e++)
                resRow[e] = alpha[2] * p[2 * n + e] + bias[2 * n + e];
            if (input != null)
                PreMixKernel<T>.Token(v, preRow, input + token * shape.Channels, n, shape.Channels);
        }
    }

    /// <summary>
    /// The per-token part of the backward, fused in one pass over the saved p, r and sigmoids: from the gradients
    /// of H_pre, H_post and the H_res logits (null counts as zero) back through the sigmoids, α and the
    /// 1/r scaling to <paramref name="gq"/> = ∂loss/∂(v·φ) [tokens, m] and <paramref name="scale"/>
    /// [tokens], the factor of v in ∂loss/∂v, plus the bias and α gradients. The two products left,
    /// gφ = vᵀ·gq and gv = gq·φᵀ + scale·v, are <see cref="InputGradientKernel{T}"/>'s.
    /// Bias and α gradients are summed per chunk and the partials added in chunk order, so results do
    /// not depend on thread timing.
    /// </summary>
    public static void ChainToProjections(CoefficientsShape shape, CoefficientsForm<T> form, T* bias, T* alpha, T* stats,
        T* gradPre, T* gradPost, T* gradRes, T* gq, T* scale, T* gradBias, T* gradAlpha)
    {
        int m = shape.Projections, n = shape.N, stride = shape.StatsPerToken;
        // About 30 operations per projection (slopes, α, 1/r, the partial sums): threads from about 2,700 tokens up.
        var chunks = TokenChunks.Plan(shape.Tokens, 32L * m, 1);
        using var partials = new ChainPartials(m, chunks.Count);
        nint statsBase = (nint)stats, gqBase = (nint)gq, scaleBase = (nint)scale;
        var gradients = new OutputGradients(gradPre, gradPost, gradRes, n);
        var chain = new Chain(shape, form, bias, alpha);
        chunks.Run((start, end, chunk) =>
            chain.Run((T*)statsBase + start * stride, gradients.From(start), end - start, (T*)gqBase + start * m, (T*)scaleBase + start,
                partials.Partial(chunk)));
        partials.SumInto(gradBias, gradAlpha);
    }

    /// <summary>
    /// One partial sum of the bias and α gradients ([m + 3]) per chunk, zeroed at the start, added in chunk order by
    /// <see cref="SumInto"/> so that results do not depend on thread timing.
    /// </summary>
    internal sealed class ChainPartials : IDisposable
    {
        private readonly ScratchArray<T> _partials;
        private readonly int _m, _count;

        public ChainPartials(int m, int chunks)
        {
            (_m, _count) = (m, chunks);
            _partials = new ScratchArray<T>(Math.Max(1, chunks) * (m + 3));
            _partials.Clear(0, _partials.Length);
        }

        /// <summary>Chunk <paramref name="chunk"/>'s partial [m + 3]: the bias gradients, then α's three.</summary>
        public T* Partial(int chunk) => _partials.Pointer + (long)chunk * (_m + 3);

        /// <summary>Writes the partials' sum (zero without chunks) to the bias [m] and α [3] gradients.</summary>
        public void SumInto(T* gradBias, T* gradAlpha)
        {
            T* sum = _partials.Pointer;
            for (int c = 1; c < _count; c++)
                VectorMath<T>.Add(sum, Partial(c), _m + 3);
            for (int k = 0; k < _m; k++)
                gradBias[k] = sum[k];
            for (int g = 0; g < 3; g++)
                gradAlpha[g] = sum[_m + g];
        }

        public void Dispose() => _partials.Dispose();
    }

    /// <summary>
    /// The per-token chain rule over a run of tokens, on the calling thread: what <see cref="ChainToProjections(CoefficientsShape, CoefficientsForm{T}, T*, T*, T*, T*, T*, T*, T*, T*, T*, T*)"/>
    /// runs per chunk, and a fused backward per block of tokens.
    /// </summary>
    internal readonly struct Chain(CoefficientsShape shape, CoefficientsForm<T> form, T* bias, T* alpha)
    {
        private readonly T _invWidth = T.One / T.CreateTruncating(shape.Width);
        private readonly T* _bias = bias, _alpha = alpha;

        /// <summary>
        /// <paramref name="count"/> tokens from <paramref name="stats"/> (their saved rows) and <paramref name="gradients"/> (row 0
        /// the first token's) to gq [count, m] and scale [count]; the bias and α gradients added to <paramref name="partial"/> [m + 3].
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(T* stats, OutputGradients gradients, long count, T* gq, T* scale, T* partial)
        {
            int m = shape.Projections, n = shape.N, stride = shape.StatsPerToken;
            for (long row = 0; row < count; row++)
            {
                T* p = stats + row * stride;
                T scaledGradient = ChainToProjections(row, n, m, p, form.Divisor(p[m]), _bias, _alpha, gradients, gq + row * m, partial, partial + m);
                scale[row] = form.SlopeFactor(scaledGradient, p[m], _invWidth);
            }
        }
    }

    /// <summary>
    /// The scalar part of the backward for one token: from the output gradients back through the
    /// sigmoids, α and the 1/r scaling to gq = ∂loss/∂(v·φ), accumulating the bias and α gradients.
    /// Returns ∂loss/∂r · r, from which <see cref="CoefficientsForm{T}.SlopeFactor"/> makes the factor of v in gv.
    /// </summary>
    private static T ChainToProjections(long token, int n, int m, T* p, T r, T* bias, T* alphas, OutputGradients gradients,
        T* gq, T* gradBias, T* gradAlpha)
    {
        T gr = T.Zero;
        T* sigmoids = p + m + 1;
        for (int k = 0; k < m; k++)
        {
            int group = k < n ? 0 : k < 2 * n ? 1 : 2;
            T gz = gradients.PreActivation(k, n, token, k < 2 * n ? sigmoids[k] : T.Zero);
            gradBias[k] += gz;
            gradAlpha[group] += gz * p[k];
            T gp = alphas[group] * gz;
            gr -= gp * p[k];
            gq[k] = gp / r;
        }
        return gr;
    }

    /// <summary>Gradients of H_pre, H_post and the H_res logits, [tokens, ·]; null where none arrived.</summary>
    internal readonly struct OutputGradients(T* pre, T* post, T* res, int n)
    {
        /// <summary>The same gradients from token <paramref name="token"/> on.</summary>
        public OutputGradients From(long token) => new(pre == null ? null : pre + token * n, post == null ? null : post + token * n,
            res == null ? null : res + token * n * n, n);

        /// <summary>
        /// ∂loss/∂z for projection k of a token, z = α·p + b being its pre-activation; <paramref name="s"/> = σ(z),
        /// kept by the forward, for the two sigmoid groups.
        /// </summary>
        public T PreActivation(int k, int n, long token, T s)
        {
            if (k < n)
                return pre == null ? T.Zero : pre[token * n + k] * (s * (T.One - s));
            if (k < 2 * n)
                return post == null ? T.Zero : post[token * n + k - n] * T.CreateTruncating(2) * (s * (T.One - s));
            return res == null ? T.Zero : res[token * n * n + k - 2 * n];
        }
    }
}
