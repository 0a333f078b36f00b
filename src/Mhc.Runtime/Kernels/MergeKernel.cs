using System.Numerics;
using System.Runtime.CompilerServices;

namespace Mhc.Runtime.Kernels;

/// <summary>
/// Res-mix + post-mix + merge per token (MHC-SPEC §7 e): out[i,:] = Σ_j H_res[i,j]·x[j,:] + H_post[i]·f,
/// reading x and f once and writing out once, instead of materialising H_res·x and H_post⊗f.
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
                T* xt = (T*)xs + rows;
                T* yt = (T*)ys + rows;
                T* f = (T*)fs + token * channels;
                T* r = (T*)rs + token * n * n;
                T* p = (T*)ps + token * n;
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
        });
    }

    /// <summary>
    /// dx[j,:] = Σ_i H_res[i,j]·dy[i,:]; dH_res[i,j] = dy[i,:]·x[j,:]; dH_post[i] = dy[i,:]·f;
    /// df = Σ_i H_post[i]·dy[i,:].
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
                T* xt = (T*)xs + rows;
                T* dy = (T*)gys + rows;
                T* dx = (T*)gxs + rows;
                T* f = (T*)fs + token * channels;
                T* df = (T*)gfs + token * channels;
                T* r = (T*)rs + token * n * n;
                T* p = (T*)ps + token * n;
                T* dr = (T*)grs + token * n * n;
                T* dp = (T*)gps + token * n;
                int c = 0;
                for (; c <= channels - Width; c += Width)
                {
                    var dfv = Vector<T>.Zero;
                    for (int i = 0; i < n; i++)
                        dfv = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(dy + (long)i * channels + c), new Vector<T>(p[i]), dfv);
                    VectorMath<T>.Store(df + c, dfv);
                    for (int j = 0; j < n; j++)
                    {
                        var acc = Vector<T>.Zero;
                        for (int i = 0; i < n; i++)
                            acc = VectorMath<T>.MultiplyAdd(VectorMath<T>.Load(dy + (long)i * channels + c), new Vector<T>(r[i * n + j]), acc);
                        VectorMath<T>.Store(dx + (long)j * channels + c, acc);
                    }
                }
                for (; c < channels; c++)
                {
                    T dfs = T.Zero;
                    for (int i = 0; i < n; i++)
                        dfs += dy[(long)i * channels + c] * p[i];
                    df[c] = dfs;
                    for (int j = 0; j < n; j++)
                    {
                        T acc = T.Zero;
                        for (int i = 0; i < n; i++)
                            acc += dy[(long)i * channels + c] * r[i * n + j];
                        dx[(long)j * channels + c] = acc;
                    }
                }
                for (int i = 0; i < n; i++)
                {
                    T* dyi = dy + (long)i * channels;
                    dp[i] = VectorMath<T>.Dot(dyi, f, channels);
                    for (int j = 0; j < n; j++)
                        dr[i * n + j] = VectorMath<T>.Dot(dyi, xt + (long)j * channels, channels);
                }
            }
        });
    }
}
