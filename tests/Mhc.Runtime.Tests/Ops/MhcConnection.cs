using Mhc.Runtime.Ops;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>The result of one composed mHC connection, every tensor kept for comparison.</summary>
internal sealed record ConnectionResult(Tensor Output, Tensor Pre, Tensor Post, Tensor HRes);

/// <summary>
/// One whole mHC connection composed from the ops: Coefficients → Sinkhorn → PreMix → F → Merge,
/// with the golden cases' branch F(h) = tanh(h·W).
/// </summary>
internal static class MhcConnection
{
    public static ConnectionResult Run(Tensor x, Tensor phi, Tensor bias, Tensor alpha, Tensor w,
        int iterations, double rmsEps, OpsImplementation implementation, ConnectionConvention convention = ConnectionConvention.MhcSpec)
    {
        var (pre, post, resLogits) = MhcOps.Coefficients(x, phi, bias, alpha, rmsEps, implementation, convention);
        var hRes = MhcOps.Sinkhorn(resLogits, iterations, implementation, convention);
        var h = MhcOps.PreMix(x, pre, implementation);
        var f = h.matmul(w).tanh();
        var output = MhcOps.Merge(x, hRes, post, f, implementation, convention);
        return new ConnectionResult(output, pre, post, hRes);
    }
}
