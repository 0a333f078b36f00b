using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>Pre-mix h = Σ_i H_pre[i]·x[i,:] per token (MHC-SPEC §7 d), x as [tokens, n, C].</summary>
internal static unsafe class PreMixKernel<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private static int Width => Vector<T>.Count;

    public static void Forward(T* x, T* weights, T* output, long tokens, int n, int channels)
    {
        nint xs = (nint)x, ws = (nint)weights, hs = (nint)output;
        TokenChunks.Plan(tokens, 2L * n * channels).Run([MethodImpl(MethodImplOptions.AggressiveOptimization)] (start, end, _) =>
        {
            for (long token = start; token < end; token++)
            {
                T* xt = (T*)xs + token * n * channels;
                T* wt = (T*)ws + token * n;
                T* h = (T*)hs + token * channels;
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
        });
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
                for (int i = 0; i < n; i++)
                {
                    T* xi = (T*)xs + rows + (long)i * channels;
                    VectorMath<T>.Scale((T*)gx + rows + (long)i * channels, wt[i], dh, channels);
                    ((T*)gw)[token * n + i] = VectorMath<T>.Dot(xi, dh, channels);
                }
            }
        });
    }
}
