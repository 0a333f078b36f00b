using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Res-mix + post-mix + merge per token (MHC-SPEC §7 e): out[i,:] = Σ_j H_res[i,j]·x[j,:] + H_post[i]·f,
/// reading x and f once and writing out once, instead of materialising H_res·x and H_post⊗f.
/// n = 4 (the paper's and the default stream count) has its own fully unrolled loops: with n a loop
/// variable the index and loop bookkeeping of the n² inner iterations cost several times the
/// arithmetic (measured ~4× slower at C = 256); other n take the general loops.
/// </summary>
internal static unsafe class MergeKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    public static void Forward(T* x, T* hRes, T* hPost, T* branch, T* output, long tokens, int n, int channels)
    {
        nint xs = (nint)x, rs = (nint)hRes, ps = (nint)hPost, fs = (nint)branch, ys = (nint)output;
        TokenChunks.Plan(tokens, 2L * n * (n + 1) * channels).Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            for (long token = start; token < end; token++)
            {
                long rows = token * n * channels;
                if (n == 4)
                    Forward4((T*)xs + rows, (T*)rs + token * 16, (T*)ps + token * 4, (T*)fs + token * channels, (T*)ys + rows, channels);
                else
                    ForwardAnyN((T*)xs + rows, (T*)rs + token * n * n, (T*)ps + token * n, (T*)fs + token * channels, (T*)ys + rows, n, channels);
            }
        });
    }

    /// <summary>
    /// dx[j,:] = Σ_i H_res[i,j]·dy[i,:]; dH_res[i,j] = dy[i,:]·x[j,:]; dH_post[i] = dy[i,:]·f;
    /// df = Σ_i H_post[i]·dy[i,:]. With <paramref name="gradX"/> and <paramref name="gradRes"/> null (both or neither), dx and
    /// dH_res are left to the caller and x is not read: a connection's mix makes both in its own pass over x
    /// (<see cref="MixBackwardKernel{T}"/>).
    /// </summary>
    public static void Backward(T* x, T* hRes, T* hPost, T* branch, T* gradOutput,
        T* gradX, T* gradRes, T* gradPost, T* gradBranch, long tokens, int n, int channels)
    {
        nint xs = (nint)x, rs = (nint)hRes, ps = (nint)hPost, fs = (nint)branch, gys = (nint)gradOutput;
        nint gxs = (nint)gradX, grs = (nint)gradRes, gps = (nint)gradPost, gfs = (nint)gradBranch;
        TokenChunks.Plan(tokens, 4L * n * (n + 1) * channels).Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            for (long token = start; token < end; token++)
            {
                long rows = token * n * channels;
                var t = new TokenGradients((T*)xs + rows, (T*)rs + token * n * n, (T*)ps + token * n, (T*)fs + token * channels,
                    (T*)gys + rows, gxs == 0 ? null : (T*)gxs + rows, grs == 0 ? null : (T*)grs + token * n * n, (T*)gps + token * n, (T*)gfs + token * channels);
                if (n == 4 && gxs == 0)
                    BranchAndPostGradients4(t, channels);
                else if (n == 4)
                {
                    InputGradients4(t, channels);
                    MixGradients4(t, 0, channels);
                    MixGradients4(t, 2, channels);
                }
                else
                    BackwardAnyN(t, n, channels);
            }
        });
    }

    /// <summary>One token's tensors in the backward: inputs x, H_res, H_post, f, dy and the gradients to write.</summary>
    private readonly struct TokenGradients(T* x, T* r, T* p, T* f, T* dy, T* dx, T* dr, T* dp, T* df)
    {
        public readonly T* X = x, R = r, P = p, F = f, Dy = dy, Dx = dx, Dr = dr, Dp = dp, Df = df;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward4(T* x, T* r, T* p, T* f, T* y, int channels)
    {
        T* x1 = x + channels, x2 = x + 2 * channels, x3 = x + 3 * channels;
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var fv = VectorMath<T>.Load(f + c);
            var a = VectorMath<T>.Load(x + c);
            var b = VectorMath<T>.Load(x1 + c);
            var d = VectorMath<T>.Load(x2 + c);
            var e = VectorMath<T>.Load(x3 + c);
            for (int i = 0; i < 4; i++)
            {
                T* ri = r + 4 * i;
                var acc = VectorMath<T>.MultiplyAdd(a, new Vector<T>(ri[0]), fv * p[i]);
                acc = VectorMath<T>.MultiplyAdd(b, new Vector<T>(ri[1]), acc);
                acc = VectorMath<T>.MultiplyAdd(d, new Vector<T>(ri[2]), acc);
                acc = VectorMath<T>.MultiplyAdd(e, new Vector<T>(ri[3]), acc);
                VectorMath<T>.Store(y + i * channels + c, acc);
            }
        }
        for (; c < channels; c++)
            for (int i = 0; i < 4; i++)
                y[i * channels + c] = f[c] * p[i] + x[c] * r[4 * i] + x1[c] * r[4 * i + 1] + x2[c] * r[4 * i + 2] + x3[c] * r[4 * i + 3];
    }

    /// <summary>n = 4: dx and df, one pass over dy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradients4(TokenGradients t, int channels)
    {
        T* dy1 = t.Dy + channels, dy2 = t.Dy + 2 * channels, dy3 = t.Dy + 3 * channels;
        T* r = t.R;
        T* p = t.P;
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var a = VectorMath<T>.Load(t.Dy + c);
            var b = VectorMath<T>.Load(dy1 + c);
            var d = VectorMath<T>.Load(dy2 + c);
            var e = VectorMath<T>.Load(dy3 + c);
            var df = a * p[0];
            df = VectorMath<T>.MultiplyAdd(b, new Vector<T>(p[1]), df);
            df = VectorMath<T>.MultiplyAdd(d, new Vector<T>(p[2]), df);
            df = VectorMath<T>.MultiplyAdd(e, new Vector<T>(p[3]), df);
            VectorMath<T>.Store(t.Df + c, df);
            for (int j = 0; j < 4; j++)
            {
                var acc = a * r[j];
                acc = VectorMath<T>.MultiplyAdd(b, new Vector<T>(r[4 + j]), acc);
                acc = VectorMath<T>.MultiplyAdd(d, new Vector<T>(r[8 + j]), acc);
                acc = VectorMath<T>.MultiplyAdd(e, new Vector<T>(r[12 + j]), acc);
                VectorMath<T>.Store(t.Dx + j * channels + c, acc);
            }
        }
        for (; c < channels; c++)
        {
            T a = t.Dy[c], b = dy1[c], d = dy2[c], e = dy3[c];
            t.Df[c] = a * p[0] + b * p[1] + d * p[2] + e * p[3];
            for (int j = 0; j < 4; j++)
                t.Dx[j * channels + c] = a * r[j] + b * r[4 + j] + d * r[8 + j] + e * r[12 + j];
        }
    }

    /// <summary>n = 4: df and dH_post, one pass over dy and f (a connection's merge: x is the mix's to read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BranchAndPostGradients4(TokenGradients t, int channels)
    {
        T* dy1 = t.Dy + channels, dy2 = t.Dy + 2 * channels, dy3 = t.Dy + 3 * channels;
        T* p = t.P;
        var p0 = new Vector<T>(p[0]);
        var p1 = new Vector<T>(p[1]);
        var p2 = new Vector<T>(p[2]);
        var p3 = new Vector<T>(p[3]);
        Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var f = VectorMath<T>.Load(t.F + c);
            var a = VectorMath<T>.Load(t.Dy + c);
            var b = VectorMath<T>.Load(dy1 + c);
            var d = VectorMath<T>.Load(dy2 + c);
            var e = VectorMath<T>.Load(dy3 + c);
            var df = a * p0;
            df = VectorMath<T>.MultiplyAdd(b, p1, df);
            df = VectorMath<T>.MultiplyAdd(d, p2, df);
            df = VectorMath<T>.MultiplyAdd(e, p3, df);
            VectorMath<T>.Store(t.Df + c, df);
            s0 = VectorMath<T>.MultiplyAdd(a, f, s0);
            s1 = VectorMath<T>.MultiplyAdd(b, f, s1);
            s2 = VectorMath<T>.MultiplyAdd(d, f, s2);
            s3 = VectorMath<T>.MultiplyAdd(e, f, s3);
        }
        t.Dp[0] = Vector.Sum(s0);
        t.Dp[1] = Vector.Sum(s1);
        t.Dp[2] = Vector.Sum(s2);
        t.Dp[3] = Vector.Sum(s3);
        for (; c < channels; c++)
        {
            T f = t.F[c], a = t.Dy[c], b = dy1[c], d = dy2[c], e = dy3[c];
            t.Df[c] = a * p[0] + b * p[1] + d * p[2] + e * p[3];
            t.Dp[0] += a * f;
            t.Dp[1] += b * f;
            t.Dp[2] += d * f;
            t.Dp[3] += e * f;
        }
    }

    /// <summary>
    /// n = 4: dH_res rows i and i + 1 and dH_post[i], dH_post[i + 1] as ten dot products in one pass;
    /// two rows at a time keep the ten accumulators and seven loaded vectors in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MixGradients4(TokenGradients t, int i, int channels)
    {
        T* u = t.Dy + i * channels, w = u + channels;
        T* x0 = t.X, x1 = t.X + channels, x2 = t.X + 2 * channels, x3 = t.X + 3 * channels;
        Vector<T> u0 = default, u1 = default, u2 = default, u3 = default, uf = default;
        Vector<T> w0 = default, w1 = default, w2 = default, w3 = default, wf = default;
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var a = VectorMath<T>.Load(u + c);
            var b = VectorMath<T>.Load(w + c);
            var v0 = VectorMath<T>.Load(x0 + c);
            var v1 = VectorMath<T>.Load(x1 + c);
            var v2 = VectorMath<T>.Load(x2 + c);
            var v3 = VectorMath<T>.Load(x3 + c);
            var vf = VectorMath<T>.Load(t.F + c);
            u0 = VectorMath<T>.MultiplyAdd(a, v0, u0);
            u1 = VectorMath<T>.MultiplyAdd(a, v1, u1);
            u2 = VectorMath<T>.MultiplyAdd(a, v2, u2);
            u3 = VectorMath<T>.MultiplyAdd(a, v3, u3);
            uf = VectorMath<T>.MultiplyAdd(a, vf, uf);
            w0 = VectorMath<T>.MultiplyAdd(b, v0, w0);
            w1 = VectorMath<T>.MultiplyAdd(b, v1, w1);
            w2 = VectorMath<T>.MultiplyAdd(b, v2, w2);
            w3 = VectorMath<T>.MultiplyAdd(b, v3, w3);
            wf = VectorMath<T>.MultiplyAdd(b, vf, wf);
        }
        T* du = t.Dr + 4 * i, dw = du + 4;
        du[0] = Vector.Sum(u0); du[1] = Vector.Sum(u1); du[2] = Vector.Sum(u2); du[3] = Vector.Sum(u3);
        dw[0] = Vector.Sum(w0); dw[1] = Vector.Sum(w1); dw[2] = Vector.Sum(w2); dw[3] = Vector.Sum(w3);
        t.Dp[i] = Vector.Sum(uf);
        t.Dp[i + 1] = Vector.Sum(wf);
        for (; c < channels; c++)
        {
            T a = u[c], b = w[c];
            du[0] += a * x0[c]; du[1] += a * x1[c]; du[2] += a * x2[c]; du[3] += a * x3[c];
            dw[0] += b * x0[c]; dw[1] += b * x1[c]; dw[2] += b * x2[c]; dw[3] += b * x3[c];
            t.Dp[i] += a * t.F[c];
            t.Dp[i + 1] += b * t.F[c];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardAnyN(T* xt, T* r, T* p, T* f, T* yt, int n, int channels)
    {
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var fv = VectorMath<T>.Load(f + c);
            for (int i = 0; i < n; i++)
            {
                var acc = fv * p[i];
                for (int j = 0; j < n; j++)
                    acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(xt + (long)j * channels + c), new Vector<T>(r[i * n + j]), acc);
                VectorMath<T>.Store(yt + (long)i * channels + c, acc);
            }
        }
        for (; c < channels; c++)
        {
            for (int i = 0; i < n; i++)
            {
                T acc = f[c] * p[i];
                for (int j = 0; j < n; j++)
                    acc += xt[(long)j * channels + c] * r[i * n + j];
                yt[(long)i * channels + c] = acc;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardAnyN(TokenGradients t, int n, int channels)
    {
        T* dy = t.Dy, r = t.R, p = t.P;
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var dfv = Vector<T>.Zero;
            for (int i = 0; i < n; i++)
                dfv = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(dy + (long)i * channels + c), new Vector<T>(p[i]), dfv);
            VectorMath<T>.Store(t.Df + c, dfv);
            for (int j = 0; j < n && t.Dx != null; j++)
            {
                var acc = Vector<T>.Zero;
                for (int i = 0; i < n; i++)
                    acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(dy + (long)i * channels + c), new Vector<T>(r[i * n + j]), acc);
                VectorMath<T>.Store(t.Dx + (long)j * channels + c, acc);
            }
        }
        for (; c < channels; c++)
        {
            T dfs = T.Zero;
            for (int i = 0; i < n; i++)
                dfs += dy[(long)i * channels + c] * p[i];
            t.Df[c] = dfs;
            for (int j = 0; j < n && t.Dx != null; j++)
            {
                T acc = T.Zero;
                for (int i = 0; i < n; i++)
                    acc += dy[(long)i * channels + c] * r[i * n + j];
                t.Dx[(long)j * channels + c] = acc;
            }
        }
        for (int i = 0; i < n; i++)
        {
            T* dyi = dy + (long)i * channels;
            t.Dp[i] = VectorMath<T>.Dot(dyi, t.F, channels);
            for (int j = 0; j < n && t.Dr != null; j++)
                t.Dr[i * n + j] = VectorMath<T>.Dot(dyi, t.X + (long)j * channels, channels);
        }
    }
}
