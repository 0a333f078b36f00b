using Mhc.Runtime.Diagnostics;
using Mhc.Runtime.Gpu.Functions;
using Mhc.Runtime.Ops.Fused;
using Mhc.Runtime.Ops.Reference;
using Mhc.Runtime.Recompute;
using TorchSharp;
using static TorchSharp.torch;
using static Mhc.Runtime.Ops.OpsArguments;

namespace Mhc.Runtime.Ops;

/// <summary>
/// The numeric building blocks of one mHC connection (MHC-SPEC §2–§3, §7), each available as a fused
/// kernel with its own backward and as a reference composition of TorchSharp operations.
/// Shapes: x is [..., n, C] (any leading dims), coefficient tensors are [..., n] / [..., n, n].
/// </summary>
/// <remarks>
/// The fused path takes contiguous float32/float64 CPU tensors (it throws <see cref="NotSupportedException"/>
/// for other dtypes and devices, <see cref="ArgumentException"/> for non-contiguous ones); the reference path
/// takes whatever TorchSharp does. Shapes and dtypes are checked on both paths. Under no_grad the fused
/// path calls its kernels directly, without an autograd node or saved tensors: a generation step's few
/// tokens cost little next to what building and tearing down a custom autograd node costs.
/// </remarks>
public static class MhcOps
{
    /// <summary>
    /// Sinkhorn–Knopp projection of logits [..., n, n] onto (approximately) doubly stochastic matrices: rows exact
    /// under MHC-SPEC, columns exact (up to ε) under the Megatron-LM and DeepSeek-V4 conventions.
    /// </summary>
    public static Tensor Sinkhorn(Tensor logits, int iterations, OpsImplementation implementation = OpsImplementation.Fused,
        ConnectionConvention convention = ConnectionConvention.MhcSpec)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        RequireKnown(convention);
        RequireRankAtLeast(logits, nameof(logits), 2, "[..., n, n]");
        long n = logits.size(-1);
        RequireShape(logits, nameof(logits), Leading(logits, 2, n, n),
            "[..., n, n]: square matrices");

        if (implementation == OpsImplementation.Reference)
            return ReferenceOps.Sinkhorn(logits, iterations, convention);
        if (implementation == OpsImplementation.Device)
            return DeviceSinkhornFunction.apply(RequireDeviceKernels(logits, convention, (logits, nameof(logits))), iterations);
        RequireFusable((logits, nameof(logits)));
        return is_grad_enabled()
            ? SinkhornFunction.apply(logits, iterations, convention)
            : SinkhornFunction.Compute(logits, iterations, convention.SinkhornFromSoftmax());
    }

    /// <summary>
    /// Coefficients of Eq. 14–18 from streams x [..., n, C]: H_pre = σ(·) [..., n], H_post = 2σ(·) [..., n],
    /// and the H_res logits [..., n, n] (before Sinkhorn). phi is [n·C, n²+2n] (columns [pre n | post n | res n²]),
    /// bias [n²+2n], alpha [3] = (α_pre, α_post, α_res). The <paramref name="convention"/> decides where the RMS ε
    /// sits and whether H_pre gets an ε (docs/compat-spec.md §2).
    /// </summary>
    public static (Tensor Pre, Tensor Post, Tensor ResLogits) Coefficients(
        Tensor x, Tensor phi, Tensor bias, Tensor alpha, double rmsEps = 1e-6,
        OpsImplementation implementation = OpsImplementation.Fused, ConnectionConvention convention = ConnectionConvention.MhcSpec)
        => Coefficients(x, phi, bias, alpha, rmsEps, implementation, convention, link: null);

    /// <param name="link">A recompute segment's link: supplies x in the backward instead of the graph keeping it.</param>
    internal static (Tensor Pre, Tensor Post, Tensor ResLogits) Coefficients(Tensor x, Tensor phi, Tensor bias, Tensor alpha,
        double rmsEps, OpsImplementation implementation, ConnectionConvention convention, StreamLink? link)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(phi);
        ArgumentNullException.ThrowIfNull(bias);
        ArgumentNullException.ThrowIfNull(alpha);
        RequireRankAtLeast(x, nameof(x), 2, "[..., n, C]");
        long n = x.size(-2), channels = x.size(-1), m = n * n + 2 * n;
        string Sizes() => $"n = {n}, C = {channels} from x {Format(x.shape)}";
        RequireShape(phi, nameof(phi), [n * channels, m], () => $"[n·C, n²+2n], {Sizes()}");
        RequireShape(bias, nameof(bias), [m], () => $"[n²+2n], {Sizes()}");
        RequireShape(alpha, nameof(alpha), [3], "(α_pre, α_post, α_res)");
        RequireKnown(convention);
        RequireSameDtype((x, nameof(x)), (phi, nameof(phi)), (bias, nameof(bias)), (alpha, nameof(alpha)));

        if (implementation == OpsImplementation.Reference)
            return ReferenceOps.Coefficients(x, phi, bias, alpha, rmsEps, convention);
        var outputs = implementation == OpsImplementation.Device
            ? DeviceCoefficientsFunction.apply(RequireDeviceKernels(x, convention, (x, nameof(x)), (phi, nameof(phi)), (bias, nameof(bias)), (alpha, nameof(alpha))), phi, bias, alpha, rmsEps)
            : FusedCoefficients(x, phi, bias, alpha, rmsEps, convention, link);
        return (outputs[0], outputs[1], outputs[2]);
    }

    private static List<Tensor> FusedCoefficients(Tensor x, Tensor phi, Tensor bias, Tensor alpha, double rmsEps, ConnectionConvention convention, StreamLink? link)
    {
        RequireFusable((x, nameof(x)), (phi, nameof(phi)), (bias, nameof(bias)), (alpha, nameof(alpha)));
        if (!is_grad_enabled())
        {
            var (pre, post, res, stats, _) = CoefficientsFunction.Compute(x, phi, bias, alpha, rmsEps, convention);
            stats.Dispose();
            return [pre, post, res];
        }
        return CoefficientsFunction.apply(x, phi, bias, alpha, rmsEps, StreamLinks.Argument(link), convention);
    }

    /// <summary>Pre-mix h = Σ_i H_pre[i]·x[i,:]: x [..., n, C], hPre [..., n] → [..., C].</summary>
    public static Tensor PreMix(Tensor x, Tensor hPre, OpsImplementation implementation = OpsImplementation.Fused)
        => PreMix(x, hPre, implementation, link: null);

    internal static Tensor PreMix(Tensor x, Tensor hPre, OpsImplementation implementation, StreamLink? link)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(hPre);
        RequireRankAtLeast(x, nameof(x), 2, "[..., n, C]");
        RequireShape(hPre, nameof(hPre), Leading(x, 1), () => $"x's leading dims + [n], n = {x.size(-2)} from x {Format(x.shape)}");
        RequireSameDtype((x, nameof(x)), (hPre, nameof(hPre)));

        if (implementation == OpsImplementation.Reference)
            return ReferenceOps.PreMix(x, hPre);
        if (implementation == OpsImplementation.Device)
            return DevicePreMixFunction.apply(RequireDeviceKernels(x, ConnectionConvention.MhcSpec, (x, nameof(x)), (hPre, nameof(hPre))), hPre);
        RequireFusable((x, nameof(x)), (hPre, nameof(hPre)));
        return is_grad_enabled() ? PreMixFunction.apply(x, hPre, StreamLinks.Argument(link)) : PreMixFunction.Compute(x, hPre);
    }

    /// <summary>
    /// Res-mix + post-mix + merge in one pass: out[i,:] = Σ_j H_res[i,j]·x[j,:] + H_post[i]·f, or with H_res[j,i]
    /// under the Megatron-LM and DeepSeek-V4 conventions.
    /// x [..., n, C], hRes [..., n, n], hPost [..., n], f [..., C] → [..., n, C].
    /// </summary>
    public static Tensor Merge(Tensor x, Tensor hRes, Tensor hPost, Tensor branchOutput,
        OpsImplementation implementation = OpsImplementation.Fused, ConnectionConvention convention = ConnectionConvention.MhcSpec)
        => Merge(x, hRes, hPost, branchOutput, implementation, convention, link: null);

    internal static Tensor Merge(Tensor x, Tensor hRes, Tensor hPost, Tensor branchOutput, OpsImplementation implementation,
        ConnectionConvention convention, StreamLink? link)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(hRes);
        ArgumentNullException.ThrowIfNull(hPost);
        ArgumentNullException.ThrowIfNull(branchOutput);
        RequireRankAtLeast(x, nameof(x), 2, "[..., n, C]");
        long n = x.size(-2), channels = x.size(-1);
        string Sizes() => $"n = {n}, C = {channels} from x {Format(x.shape)}";
        RequireShape(hRes, nameof(hRes), Leading(x, 2, n, n), () => $"x's leading dims + [n, n], {Sizes()}");
        RequireShape(hPost, nameof(hPost), Leading(x, 2, n), () => $"x's leading dims + [n], {Sizes()}");
        RequireShape(branchOutput, nameof(branchOutput), Leading(x, 2, channels), () => $"x's leading dims + [C], {Sizes()}");
        RequireKnown(convention);
        RequireSameDtype((x, nameof(x)), (hRes, nameof(hRes)), (hPost, nameof(hPost)), (branchOutput, nameof(branchOutput)));

        if (implementation == OpsImplementation.Reference)
            return ReferenceOps.Merge(x, hRes, hPost, branchOutput, convention);
        if (implementation == OpsImplementation.Device)
            return DeviceMergeFunction.apply(
                RequireDeviceKernels(x, convention, (x, nameof(x)), (hRes, nameof(hRes)), (hPost, nameof(hPost)), (branchOutput, nameof(branchOutput))),
                hRes, hPost, branchOutput);
        RequireFusable((x, nameof(x)), (hRes, nameof(hRes)), (hPost, nameof(hPost)), (branchOutput, nameof(branchOutput)));
        // The transposed mix is the same fused merge applied to H_resᵀ (n² values per token, transposed by
        // libtorch, which also carries its gradient back); a recompute segment re-derives from that operand.
        if (convention.TransposesResidualMix())
        {
            using var view = hRes.transpose(-1, -2);
            using var transposed = view.contiguous();
            return FusedMerge(x, transposed, hPost, branchOutput, link, MergeFunction.NoDeferral);
        }
        return FusedMerge(x, hRes, hPost, branchOutput, link, MergeFunction.NoDeferral);
    }

    /// <param name="deferral">A connection's <see cref="DeferredStreamGradient"/>, or <see cref="MergeFunction.NoDeferral"/>.</param>
    private static Tensor FusedMerge(Tensor x, Tensor hRes, Tensor hPost, Tensor branchOutput, StreamLink? link, object deferral)
        => is_grad_enabled()
            ? MergeFunction.apply(x, hRes, hPost, branchOutput, StreamLinks.Argument(link), deferral)
            : MergeFunction.Compute(x, hRes, hPost, branchOutput);

    /// <summary>
    /// A connection's whole mix on the fused path, one node (<see cref="MixFunction"/>): the branch input h, H_post,
    /// and the matrix the merge applies (H_res, or H_resᵀ under the transposing conventions: merge it with
    /// <see cref="ConnectionConvention.MhcSpec"/>). The connection has checked the shapes and made x contiguous;
    /// its parameters are its own, so only what the kernels read directly is checked here.
    /// </summary>
    /// <param name="deferred">The hand-over through which the connection's merge leaves its ∂x to this mix's backward.</param>
    internal static (Tensor Input, Tensor Post, Tensor Mix) ConnectionMix(Tensor x, Tensor phi, Tensor bias, Tensor alpha,
        double rmsEps, int iterations, ConnectionConvention convention, StreamLink? link, DeferredStreamGradient deferred)
    {
        RequireFusable((x, nameof(x)), (phi, nameof(phi)), (bias, nameof(bias)), (alpha, nameof(alpha)));
        if (!is_grad_enabled())
        {
            var result = MixFunction.Compute(x, phi, bias, alpha, rmsEps, iterations, convention);
            result.Pre.Dispose();
            result.Logits.Dispose();
            result.Stats.Dispose();
            return (result.Input, result.Post, result.Mix);
        }
        using var timed = ConnectionTimings.Time(TimedPart.MixApply);
        var outputs = MixFunction.apply(x, phi, bias, alpha, rmsEps, iterations, convention, StreamLinks.Argument(link), deferred);
        return (outputs[0], outputs[1], deferred.TakeMix());
    }

    /// <summary>
    /// A connection's merge on the fused path, after <see cref="ConnectionMix"/>: the operands come from the mix and
    /// the branch output's shape was checked against h, so only the branch output's memory is checked here.
    /// </summary>
    internal static Tensor ConnectionMerge(Tensor x, Tensor mix, Tensor hPost, Tensor branchOutput, StreamLink? link,
        DeferredStreamGradient deferred)
    {
        RequireFusable((branchOutput, "the branch output"));
        using var timed = ConnectionTimings.Time(TimedPart.MergeApply);
        return FusedMerge(x, mix, hPost, branchOutput, link, deferred);
    }
}
