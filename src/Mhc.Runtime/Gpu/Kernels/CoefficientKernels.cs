using ILGPU;
using ILGPU.Algorithms;

namespace Mhc.Runtime.Gpu.Kernels;

/// <summary>
/// RMS norm and coefficients (MHC-SPEC §2, Eq. 14–18) and their backward. The forward takes one thread
/// per (token, projection column): it forms v·φ[:, j] and ‖v‖ in one pass over the token's v (which the
/// m threads of a token share through the cache), then scale, bias and sigmoid. It saves p = (v·φ)/r and
/// r per token. The backward's sums over tokens (∂φ, ∂b, ∂α) run one thread per output element over the
/// tokens in order: no atomics, so the result is the same on every run.
/// </summary>
internal static class CoefficientKernels
{
    /// <param name="projections">Out: p [tokens, m].</param>
    /// <param name="rms">Out: r [tokens].</param>
    public static void Forward(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> phi, ArrayView<float> bias,
        ArrayView<float> alpha, ArrayView<float> pre, ArrayView<float> post, ArrayView<float> resLogits,
        ArrayView<float> projections, ArrayView<float> rms)
    {
        int m = s.Projections, n = s.Streams, width = s.Width;
        long t = index / m;
        int j = index % m;
        long row = t * width;
        float dot = 0f, squares = 0f;
        for (int k = 0; k < width; k++)
        {
            float v = x[row + k];
            dot += v * phi[(long)k * m + j];
            squares += v * v;
        }
        float r = XMath.Sqrt(squares / width + s.RmsEps);
        float p = dot / r;
        projections[index] = p;
        if (j == 0) rms[t] = r;
        float z = alpha[s.GroupOf(j)] * p + bias[j];
        if (j < n) pre[t * n + j] = Sigmoid(z);
        else if (j < 2 * n) post[t * n + j - n] = 2f * Sigmoid(z);
        else resLogits[t * n * n + j - 2 * n] = z;
    }

    /// <summary>
    /// Per (token, column): ∂z from the outputs' gradients (sigmoid slopes from the saved outputs), then
    /// ∂(v·φ) = α·∂z / r into <c>gradDot</c>, and ∂z and ∂z·p for the bias and α sums.
    /// </summary>
    public static void ChainToDot(Index1D index, KernelSizes s, ArrayView<float> alpha, ArrayView<float> pre, ArrayView<float> post,
        ArrayView<float> gradPre, ArrayView<float> gradPost, ArrayView<float> gradRes, ArrayView<float> projections,
        ArrayView<float> rms, ArrayView<float> gradZ, ArrayView<float> gradZTimesP, ArrayView<float> gradDot)
    {
        int m = s.Projections, n = s.Streams;
        long t = index / m;
        int j = index % m;
        float dz;
        if (j < n)
        {
            float y = pre[t * n + j];
            dz = gradPre[t * n + j] * y * (1f - y);
        }
        else if (j < 2 * n)
        {
            float y = post[t * n + j - n];
            dz = gradPost[t * n + j - n] * y * (1f - 0.5f * y);
        }
        else
        {
            dz = gradRes[t * n * n + j - 2 * n];
        }
        gradZ[index] = dz;
        gradZTimesP[index] = dz * projections[index];
        gradDot[index] = alpha[s.GroupOf(j)] * dz / rms[t];
    }

    /// <summary>
    /// ∂x[t,k] = Σ_j φ[k,j]·∂(v·φ)[t,j] + σ_t·v[t,k], where σ_t = −(Σ_j ∂(v·φ)[t,j]·p[t,j]) / (nC·r) carries
    /// the RMS norm's share. One thread per (t, k).
    /// </summary>
    public static void GradX(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> phi, ArrayView<float> projections,
        ArrayView<float> rms, ArrayView<float> gradDot, ArrayView<float> gradX)
    {
        int m = s.Projections, width = s.Width;
        long t = index / width;
        int k = index % width;
        long row = t * m;
        float sum = 0f, norm = 0f;
        for (int j = 0; j < m; j++)
        {
            float g = gradDot[row + j];
            sum += phi[(long)k * m + j] * g;
            norm += g * projections[row + j];
        }
        gradX[index] = sum - norm / (width * rms[t]) * x[index];
    }

    /// <summary>∂φ[k,j] = Σ_t v[t,k]·∂(v·φ)[t,j], tokens in order. One thread per (k, j).</summary>
    public static void GradPhi(Index1D index, KernelSizes s, ArrayView<float> x, ArrayView<float> gradDot, ArrayView<float> gradPhi)
    {
        int m = s.Projections, width = s.Width;
        int k = index / m, j = index % m;
        float sum = 0f;
        for (long t = 0; t < s.Tokens; t++)
            sum += x[t * width + k] * gradDot[t * m + j];
        gradPhi[index] = sum;
    }

    /// <summary>∂b[j] = Σ_t ∂z[t,j] and the per-column Σ_t ∂z·p that ∂α adds up. One thread per column.</summary>
    public static void GradBias(Index1D j, KernelSizes s, ArrayView<float> gradZ, ArrayView<float> gradZTimesP,
        ArrayView<float> gradBias, ArrayView<float> columnAlphaSums)
    {
        int m = s.Projections;
        float bias = 0f, scale = 0f;
        for (long t = 0; t < s.Tokens; t++)
        {
            bias += gradZ[t * m + j];
            scale += gradZTimesP[t * m + j];
        }
        gradBias[j] = bias;
        columnAlphaSums[j] = scale;
    }

    /// <summary>∂α[g] = Σ over the group's columns of Σ_t ∂z·p. One thread per group (3).</summary>
    public static void GradAlpha(Index1D group, KernelSizes s, ArrayView<float> columnAlphaSums, ArrayView<float> gradAlpha)
    {
        int n = s.Streams;
        int start = group == 0 ? 0 : group == 1 ? n : 2 * n;
        int end = group == 0 ? n : group == 1 ? 2 * n : s.Projections;
        float sum = 0f;
        for (int j = start; j < end; j++)
            sum += columnAlphaSums[j];
        gradAlpha[group] = sum;
    }

    private static float Sigmoid(float z) => 1f / (1f + XMath.Exp(-z));
}
