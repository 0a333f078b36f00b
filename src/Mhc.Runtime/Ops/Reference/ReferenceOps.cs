using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Ops.Reference;

/// <summary>
/// The mHC ops as plain compositions of TorchSharp operations, differentiated by autograd: the oracle
/// the fused kernels are checked against, and the path for devices and dtypes the kernels do not cover.
/// </summary>
internal static class ReferenceOps
{
    public static Tensor Sinkhorn(Tensor logits, int iterations)
    {
        using var scope = NewDisposeScope();
        var m = (logits - logits.amax([-2L, -1L], keepdim: true)).exp();
        for (int t = 0; t < iterations; t++)
        {
            m = m / m.sum(-2L, keepdim: true);
            m = m / m.sum(-1L, keepdim: true);
        }
        return m.MoveToOuterDisposeScope();
    }

    public static (Tensor Pre, Tensor Post, Tensor ResLogits) Coefficients(
        Tensor x, Tensor phi, Tensor bias, Tensor alpha, double rmsEps)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[^2];
        long[] leading = x.shape[..^2];
        var v = x.reshape([.. leading, -1]);
        var r = (v.square().mean([-1L], keepdim: true) + rmsEps).sqrt();
        var p = v.matmul(phi) / r;

        var zPre = alpha[0] * p.narrow(-1, 0, n) + bias.narrow(0, 0, n);
        var zPost = alpha[1] * p.narrow(-1, n, n) + bias.narrow(0, n, n);
        var zRes = alpha[2] * p.narrow(-1, 2 * n, n * n) + bias.narrow(0, 2 * n, n * n);

        var pre = zPre.sigmoid();
        var post = 2.0 * zPost.sigmoid();
        var res = zRes.reshape([.. leading, n, n]);
        return (pre.MoveToOuterDisposeScope(), post.MoveToOuterDisposeScope(), res.MoveToOuterDisposeScope());
    }

    public static Tensor PreMix(Tensor x, Tensor hPre)
    {
        using var scope = NewDisposeScope();
        return (hPre.unsqueeze(-1) * x).sum(-2L).MoveToOuterDisposeScope();
    }

    public static Tensor Merge(Tensor x, Tensor hRes, Tensor hPost, Tensor branchOutput)
    {
        using var scope = NewDisposeScope();
        var mixed = hRes.matmul(x) + hPost.unsqueeze(-1) * branchOutput.unsqueeze(-2);
        return mixed.MoveToOuterDisposeScope();
    }
}
