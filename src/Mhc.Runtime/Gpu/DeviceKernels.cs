using ILGPU;
using ILGPU.Runtime;
using Mhc.Runtime.Gpu.Kernels;

namespace Mhc.Runtime.Gpu;

/// <summary>
/// The mHC kernels compiled for one accelerator (PTX for a CUDA device, emulated threads on ILGPU's CPU
/// accelerator), and how each is launched: one logical thread per output element, the group size left to
/// ILGPU. Launches go to <see cref="Stream"/> and are asynchronous on a GPU; everything on one stream
/// runs in order.
/// </summary>
internal sealed class DeviceKernels
{
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _coefficients;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _coefficientsChain;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>> _coefficientsGradX;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>> _coefficientsGradPhi;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _coefficientsGradBias;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>> _coefficientsGradAlpha;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>> _sinkhorn;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _sinkhornBackward;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>> _preMix;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>> _preMixGradX;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>> _preMixGradPre;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _merge;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _mergeGradInputs;
    private readonly Action<AcceleratorStream, Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> _mergeGradCoefficients;

    public DeviceKernels(Accelerator accelerator, AcceleratorStream stream)
    {
        Accelerator = accelerator;
        Stream = stream;
        _coefficients = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CoefficientKernels.Forward);
        _coefficientsChain = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CoefficientKernels.ChainToDot);
        _coefficientsGradX = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>>(CoefficientKernels.GradX);
        _coefficientsGradPhi = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CoefficientKernels.GradPhi);
        _coefficientsGradBias = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CoefficientKernels.GradBias);
        _coefficientsGradAlpha = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>>(CoefficientKernels.GradAlpha);
        _sinkhorn = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>>(SinkhornKernels.Forward);
        _sinkhornBackward = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(SinkhornKernels.Backward);
        _preMix = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MixKernels.PreMix);
        _preMixGradX = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MixKernels.PreMixGradX);
        _preMixGradPre = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MixKernels.PreMixGradPre);
        _merge = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MixKernels.Merge);
        _mergeGradInputs = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MixKernels.MergeGradInputs);
        _mergeGradCoefficients = accelerator.LoadAutoGroupedKernel<Index1D, KernelSizes, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(MixKernels.MergeGradCoefficients);
    }

    public Accelerator Accelerator { get; }

    public AcceleratorStream Stream { get; }

    /// <summary>Launches a kernel over <paramref name="count"/> threads; none for an empty batch (a CUDA grid cannot be empty).</summary>
    private static void Launch(long count, Action<Index1D> launch)
    {
        if (count > int.MaxValue)
            throw new NotSupportedException($"A device kernel would need {count} threads; the kernels take at most {int.MaxValue} per launch (split the batch).");
        if (count > 0)
            launch(new Index1D((int)count));
    }

    /// <summary>Outputs pre, post [T, n], resLogits [T, n²]; saves p [T, m] and r [T].</summary>
    public void Coefficients(KernelSizes s, ArrayView<float> x, ArrayView<float> phi, ArrayView<float> bias, ArrayView<float> alpha,
        ArrayView<float> pre, ArrayView<float> post, ArrayView<float> resLogits, ArrayView<float> projections, ArrayView<float> rms) =>
        Launch((long)s.Tokens * s.Projections, threads => _coefficients(Stream, threads, s, x, phi, bias, alpha, pre, post, resLogits, projections, rms));

    /// <remarks>The last four views are scratch: three [T, m] (∂z, ∂z·p, ∂(v·φ)) and one [m].</remarks>
    public void CoefficientsBackward(KernelSizes s, ArrayView<float> x, ArrayView<float> phi, ArrayView<float> alpha,
        ArrayView<float> pre, ArrayView<float> post, ArrayView<float> projections, ArrayView<float> rms,
        ArrayView<float> gradPre, ArrayView<float> gradPost, ArrayView<float> gradRes,
        ArrayView<float> gradX, ArrayView<float> gradPhi, ArrayView<float> gradBias, ArrayView<float> gradAlpha,
        ArrayView<float> gradZ, ArrayView<float> gradZTimesP, ArrayView<float> gradDot, ArrayView<float> columnAlphaSums)
    {
        long perToken = (long)s.Tokens * s.Projections;
        Launch(perToken, threads => _coefficientsChain(Stream, threads, s, alpha, pre, post, gradPre, gradPost, gradRes, projections, rms, gradZ, gradZTimesP, gradDot));
        Launch((long)s.Tokens * s.Width, threads => _coefficientsGradX(Stream, threads, s, x, phi, projections, rms, gradDot, gradX));
        Launch((long)s.Width * s.Projections, threads => _coefficientsGradPhi(Stream, threads, s, x, gradDot, gradPhi));
        Launch(s.Projections, threads => _coefficientsGradBias(Stream, threads, s, gradZ, gradZTimesP, gradBias, columnAlphaSums));
        Launch(3, threads => _coefficientsGradAlpha(Stream, threads, s, columnAlphaSums, gradAlpha));
    }

    public void Sinkhorn(KernelSizes s, ArrayView<float> logits, ArrayView<float> output) =>
        Launch(s.Tokens, threads => _sinkhorn(Stream, threads, s, logits, output));

    /// <param name="scratch">[T, 2·iterations, 2n].</param>
    public void SinkhornBackward(KernelSizes s, ArrayView<float> logits, ArrayView<float> gradOutput, ArrayView<float> gradLogits, ArrayView<float> scratch) =>
        Launch(s.Tokens, threads => _sinkhornBackward(Stream, threads, s, logits, gradOutput, gradLogits, scratch));

    public static long SinkhornScratchLength(KernelSizes s) => (long)s.Tokens * 2 * s.Iterations * 2 * s.Streams;

    public void PreMix(KernelSizes s, ArrayView<float> x, ArrayView<float> pre, ArrayView<float> h) =>
        Launch((long)s.Tokens * s.Channels, threads => _preMix(Stream, threads, s, x, pre, h));

    public void PreMixBackward(KernelSizes s, ArrayView<float> x, ArrayView<float> pre, ArrayView<float> gradH,
        ArrayView<float> gradX, ArrayView<float> gradPre)
    {
        Launch((long)s.Tokens * s.Channels, threads => _preMixGradX(Stream, threads, s, pre, gradH, gradX));
        Launch((long)s.Tokens * s.Streams, threads => _preMixGradPre(Stream, threads, s, x, gradH, gradPre));
    }

    public void Merge(KernelSizes s, ArrayView<float> x, ArrayView<float> res, ArrayView<float> post, ArrayView<float> f, ArrayView<float> output) =>
        Launch((long)s.Tokens * s.Channels, threads => _merge(Stream, threads, s, x, res, post, f, output));

    public void MergeBackward(KernelSizes s, ArrayView<float> x, ArrayView<float> res, ArrayView<float> post, ArrayView<float> f,
        ArrayView<float> grad, ArrayView<float> gradX, ArrayView<float> gradRes, ArrayView<float> gradPost, ArrayView<float> gradF)
    {
        Launch((long)s.Tokens * s.Channels, threads => _mergeGradInputs(Stream, threads, s, res, post, grad, gradX, gradF));
        Launch((long)s.Tokens * s.Streams, threads => _mergeGradCoefficients(Stream, threads, s, x, f, grad, gradRes, gradPost));
    }
}
