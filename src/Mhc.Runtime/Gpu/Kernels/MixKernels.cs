using ILGPU;

namespace Mhc.Runtime.Gpu.Kernels;

/// <summary>
/// Pre-mix and merge (MHC-SPEC §2, §7 (d)(e)) and their backward passes. Forward kernels take one thread
/// per (token, channel): consecutive threads touch consecutive channels, so every read and write is
/// coalesced, and each element of x and F(h) is read once and each output written once. Reductions over
/// channels (the coefficient gradients) run one thread per coefficient in a fixed order: deterministic.
/// </summary>
internal static class MixKernels
{
    /// <summary>h[t,c] = Σ_i pre[t,i]·x[t,i,c]. One thread per (t, c).</summary>
    public static void PreMix(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> pre, ArrayView<float> h)
    {
        long t = index / s.Channels, c = index % s.Channels;
        long row = t * s.Streams;
        float sum = 0f;
        int i = 0;
        // Four streams' loads issued before any is used: a thread issues in order and stalls at the first use of
        // a load, so a plain loop would wait for memory once per stream instead of once per four.
        for (; i + 4 <= s.Streams; i += 4)
        {
            float x0 = x[(row + i) * s.Channels + c], x1 = x[(row + i + 1) * s.Channels + c];
            float x2 = x[(row + i + 2) * s.Channels + c], x3 = x[(row + i + 3) * s.Channels + c];
            float p0 = pre[row + i], p1 = pre[row + i + 1], p2 = pre[row + i + 2], p3 = pre[row + i + 3];
            sum += p0 * x0;
            sum += p1 * x1;
            sum += p2 * x2;
            sum += p3 * x3;
        }
        for (; i < s.Streams; i++)
            sum += pre[row + i] * x[(row + i) * s.Channels + c];
        h[index] = sum;
    }

    /// <summary>∂x[t,i,c] = pre[t,i]·∂h[t,c]. One thread per (t, c).</summary>
    public static void PreMixGradX(Index1D index, KernelSizes s, ArrayView<float> pre, ArrayView<float> gradH, ArrayView<float> gradX)
    {
        long t = index / s.Channels, c = index % s.Channels;
        float g = gradH[index];
        for (int i = 0; i < s.Streams; i++)
            gradX[(t * s.Streams + i) * s.Channels + c] = pre[t * s.Streams + i] * g;
    }

    /// <summary>∂pre[t,i] = Σ_c ∂h[t,c]·x[t,i,c]. One thread per (t, i).</summary>
    public static void PreMixGradPre(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> gradH, ArrayView<float> gradPre)
    {
        long t = index / s.Streams;
        long row = (long)index.X * s.Channels, hRow = t * s.Channels;
        float sum = 0f;
        for (int c = 0; c < s.Channels; c++)
            sum += gradH[hRow + c] * x[row + c];
        gradPre[index] = sum;
    }

    /// <summary>out[t,i,c] = Σ_j res[t,i,j]·x[t,j,c] + post[t,i]·f[t,c]. One thread per (t, c).</summary>
    public static void Merge(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> res, ArrayView<float> post,
        ArrayView<float> f, ArrayView<float> output)
    {
        int n = s.Streams;
        long t = index / s.Channels, c = index % s.Channels;
        float branch = f[index];
        if (n == 4)
        {
            // The paper's n: the four streams' elements held in registers. In the general loop below each store
            // may alias x, so x is read again after it, and each output waits for its own round of loads.
            long row = t * 4;
            float x0 = x[row * s.Channels + c], x1 = x[(row + 1) * s.Channels + c];
            float x2 = x[(row + 2) * s.Channels + c], x3 = x[(row + 3) * s.Channels + c];
            for (int i = 0; i < 4; i++)
            {
                long r = (row + i) * 4;
                float sum = post[row + i] * branch;
                sum += res[r] * x0;
                sum += res[r + 1] * x1;
                sum += res[r + 2] * x2;
                sum += res[r + 3] * x3;
                output[(row + i) * s.Channels + c] = sum;
            }
            return;
        }
        for (int i = 0; i < n; i++)
        {
            float sum = post[t * n + i] * branch;
            for (int j = 0; j < n; j++)
                sum += res[(t * n + i) * n + j] * x[(t * n + j) * s.Channels + c];
            output[(t * n + i) * s.Channels + c] = sum;
        }
    }

    /// <summary>∂x[t,j,c] = Σ_i res[t,i,j]·g[t,i,c] and ∂f[t,c] = Σ_i post[t,i]·g[t,i,c]. One thread per (t, c).</summary>
    public static void MergeGradInputs(Index1D index, KernelSizes s, ArrayView<float> res, ArrayView<float> post,
        ArrayView<float> grad, ArrayView<float> gradX, ArrayView<float> gradF)
    {
        int n = s.Streams;
        long t = index / s.Channels, c = index % s.Channels;
        float sumF = 0f;
        for (int i = 0; i < n; i++)
            sumF += post[t * n + i] * grad[(t * n + i) * s.Channels + c];
        gradF[index] = sumF;
        for (int j = 0; j < n; j++)
        {
            float sum = 0f;
            for (int i = 0; i < n; i++)
                sum += res[(t * n + i) * n + j] * grad[(t * n + i) * s.Channels + c];
            gradX[(t * n + j) * s.Channels + c] = sum;
        }
    }

    /// <summary>
    /// ∂post[t,i] = Σ_c g[t,i,c]·f[t,c] and ∂res[t,i,j] = Σ_c g[t,i,c]·x[t,j,c]. One thread per (t, i).
    /// </summary>
    public static void MergeGradCoefficients(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> f,
        ArrayView<float> grad, ArrayView<float> gradRes, ArrayView<float> gradPost)
    {
        int n = s.Streams;
        long t = index / n;
        long gRow = (long)index.X * s.Channels;
        float sumPost = 0f;
        for (int c = 0; c < s.Channels; c++)
            sumPost += grad[gRow + c] * f[t * s.Channels + c];
        gradPost[index] = sumPost;
        for (int j = 0; j < n; j++)
        {
            long xRow = (t * n + j) * s.Channels;
            float sum = 0f;
            for (int c = 0; c < s.Channels; c++)
                sum += grad[gRow + c] * x[xRow + c];
            gradRes[(long)index.X * n + j] = sum;
        }
    }
}
