using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Ops.Reference;

/// <summary>
/// The mHC ops as plain compositions of TorchSharp operations, differentiated by autograd: the oracle
/// the fused kernels are checked against, and the path for devices and dtypes the kernels do not cover.
/// </summary>
internal static class ReferenceOps
{
    public static Tensor Sinkhorn(Tensor logits, int iterations, ConnectionConvention convention)
    {
        if (convention.SinkhornFromSoftmax())
            return SoftmaxSinkhorn(logits, iterations);
        using var scope = NewDisposeScope();
        // Shifting each column by its own maximum is exact (the first step normalises columns, which
        // cancels any per-column factor) and leaves every column an entry of 1, so exp cannot empty one.
        // The shift's true derivative is zero; detaching it keeps autograd from adding huge opposite terms.
        var m = (logits - logits.amax([-2L], keepdim: true).detach()).exp();
        for (int t = 0; t < iterations; t++)
        {
            m = m * SafeReciprocal(m.sum(-2L, keepdim: true));
            m = m * SafeReciprocal(m.sum(-1L, keepdim: true));
        }
        return m.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Megatron-LM's and DeepSeek-V4's Sinkhorn (docs/compat-spec.md §3): a row softmax plus ε, columns, then
    /// t − 1 rounds of rows and columns, each dividing by its sum + ε, so it ends on columns.
    /// </summary>
    private static Tensor SoftmaxSinkhorn(Tensor logits, int iterations)
    {
        using var scope = NewDisposeScope();
        const double eps = Conventions.Epsilon;
        var m = logits.softmax(-1) + eps;
        m = m / (m.sum(-2L, keepdim: true) + eps);
        for (int t = 1; t < iterations; t++)
        {
            m = m / (m.sum(-1L, keepdim: true) + eps);
            m = m / (m.sum(-2L, keepdim: true) + eps);
        }
        return m.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 1 / sum, or 0 for an empty sum (<see cref="SinkhornNumerics"/>), as in the fused kernel. The inner
    /// where keeps the unused branch finite, so autograd never multiplies an infinite derivative by zero.
    /// </summary>
    private static Tensor SafeReciprocal(Tensor sums)
    {
        double empty = sums.dtype switch
        {
            ScalarType.Float64 => SinkhornNumerics.EmptySumDouble,
            ScalarType.Float32 => SinkhornNumerics.EmptySumSingle,
            _ => SinkhornNumerics.EmptySumHalf,
        };
        var usable = sums >= empty;
        return where(usable, where(usable, sums, ones_like(sums)).reciprocal(), zeros_like(sums));
    }

    public static (Tensor Pre, Tensor Post, Tensor ResLogits) Coefficients(
        Tensor x, Tensor phi, Tensor bias, Tensor alpha, double rmsEps, ConnectionConvention convention)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[^2];
        long[] leading = x.shape[..^2];
        // The width spelled out: reshape cannot infer a −1 from an empty batch.
        var v = x.reshape([.. leading, n * x.shape[^1]]);
        // Megatron-LM: r = ‖v‖/√(nC) + ε; MHC-SPEC and DeepSeek-V4: r = sqrt(mean(v²) + ε).
        var r = convention.RmsEpsilonOutsideRoot()
            ? v.norm(-1, keepdim: true) / Math.Sqrt(v.shape[^1]) + rmsEps
            : (v.square().mean([-1L], keepdim: true) + rmsEps).sqrt();
        var p = v.matmul(phi) / r;

        var zPre = alpha[0] * p.narrow(-1, 0, n) + bias.narrow(0, 0, n);
        var zPost = alpha[1] * p.narrow(-1, n, n) + bias.narrow(0, n, n);
        var zRes = alpha[2] * p.narrow(-1, 2 * n, n * n) + bias.narrow(0, 2 * n, n * n);

        var pre = zPre.sigmoid() + convention.PreOffset();
        var post = 2.0 * zPost.sigmoid();
        var res = zRes.reshape([.. leading, n, n]);
        return (pre.MoveToOuterDisposeScope(), post.MoveToOuterDisposeScope(), res.MoveToOuterDisposeScope());
    }

    public static Tensor PreMix(Tensor x, Tensor hPre)
    {
        using var scope = NewDisposeScope();
        return (hPre.unsqueeze(-1) * x).sum(-2L).MoveToOuterDisposeScope();
    }

    public static Tensor Merge(Tensor x, Tensor hRes, Tensor hPost, Tensor branchOutput, ConnectionConvention convention)
    {
        using var scope = NewDisposeScope();
        var mix = convention.TransposesResidualMix() ? hRes.transpose(-1, -2) : hRes;
        var mixed = mix.matmul(x) + hPost.unsqueeze(-1) * branchOutput.unsqueeze(-2);
        return mixed.MoveToOuterDisposeScope();
    }
}
