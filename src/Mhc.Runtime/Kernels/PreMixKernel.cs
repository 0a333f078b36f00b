using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Pre-mix h = Σ_i H_pre[i]·x[i,:] per token (MHC-SPEC §7 d), x as [tokens, n, C]. The backward for
/// n = 4 is one pass over dh with the four dot products in registers; other n take one scale and one
/// dot-product pass per stream.
/// </summary>
internal static unsafe class PreMixKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    public static void Forward(T* x, T* weights, T* output, long tokens, int n, int channels)
    {
        nint xs = (nint)x, ws = (nint)weights, hs = (nint)output;
        TokenChunks.Plan(tokens, 2L * n * channels).Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            for (long token = start; token < end; token++)
                Token((T*)xs + token * n * channels, (T*)ws + token * n, (T*)hs + token * channels, n, channels);
        });
    }

    /// <summary>
    /// One token's h = Σ_i w[i]·x[i,:]: what <see cref="Forward"/> runs per token, and what the coefficients kernel
    /// runs right after a token's H_pre, while its x is still in cache.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Token(T* xt, T* wt, T* h, int n, int channels)
    {
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var acc = VectorMath<T>.Load(xt + c) * wt[0];
            for (int i = 1; i < n; i++)
                acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(xt + (long)i * channels + c), new Vector<T>(wt[i]), acc);
            VectorMath<T>.Store(h + c, acc);
        }
        for (; c < channels; c++)
        {
            T acc = T.Zero;
            for (int i = 0; i < n; i++)
                acc += xt[(long)i * channels + c] * wt[i];
            h[c] = acc;
        }
    }

    /// <summary>dx[i,:] = H_pre[i]·dh; dH_pre[i] = x[i,:]·dh.</summary>
    public static void Backward(T* x, T* weights, T* gradOutput, T* gradX, T* gradWeights, long tokens, int n, int channels)
    {
        nint xs = (nint)x, ws = (nint)weights, gh = (nint)gradOutput, gx = (nint)gradX, gw = (nint)gradWeights;
        TokenChunks.Plan(tokens, 4L * n * channels).Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            for (long token = start; token < end; token++)
            {
                long rows = token * n * channels;
                T* dh = (T*)gh + token * channels;
                T* wt = (T*)ws + token * n;
                if (n == 4)
                {
                    Backward4((T*)xs + rows, wt, dh, (T*)gx + rows, (T*)gw + token * 4, channels);
                    continue;
                }
                for (int i = 0; i < n; i++)
                {
                    T* xi = (T*)xs + rows + (long)i * channels;
                    VectorMath<T>.Scale((T*)gx + rows + (long)i * channels, wt[i], dh, channels);
                    ((T*)gw)[token * n + i] = VectorMath<T>.Dot(xi, dh, channels);
                }
            }
        });
    }

    /// <summary>n = 4, one token: dx[i,:] = w[i]·dh and dw[i] = x[i,:]·dh in one pass.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Backward4(T* x, T* w, T* dh, T* dx, T* dw, int channels)
    {
        T* x1 = x + channels, x2 = x + 2 * channels, x3 = x + 3 * channels;
        Vector<T> s0 = default, s1 = default, s2 = default, s3 = default;
        var w0 = new Vector<T>(w[0]);
        var w1 = new Vector<T>(w[1]);
        var w2 = new Vector<T>(w[2]);
        var w3 = new Vector<T>(w[3]);
        int c = 0;
        for (; c <= channels - Width; c += Width)
        {
            var g = VectorMath<T>.Load(dh + c);
            VectorMath<T>.Store(dx + c, w0 * g);
            VectorMath<T>.Store(dx + channels + c, w1 * g);
            VectorMath<T>.Store(dx + 2 * channels + c, w2 * g);
            VectorMath<T>.Store(dx + 3 * channels + c, w3 * g);
            s0 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(x + c), g, s0);
            s1 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(x1 + c), g, s1);
            s2 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(x2 + c), g, s2);
            s3 = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(x3 + c), g, s3);
        }
        dw[0] = Vector.Sum(s0);
        dw[1] = Vector.Sum(s1);
        dw[2] = Vector.Sum(s2);
        dw[3] = Vector.Sum(s3);
        for (; c < channels; c++)
        {
            T g = dh[c];
            for (int i = 0; i < 4; i++)
            {
                dx[i * channels + c] = w[i] * g;
                dw[i] += x[i * channels + c] * g;
            }
        }
    }
}
