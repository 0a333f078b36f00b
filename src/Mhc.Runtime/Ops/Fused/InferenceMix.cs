using System.Numerics;
using Mhc.Runtime.Kernels;
using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// An mHC connection under no_grad on the fused path: the same kernels as <see cref="MixFunction"/> and
/// <see cref="MergeFunction"/>, but H_pre, the logits, H_res and H_post live in pooled scratch instead of
/// tensors. A decoding step has a token or a few per connection, where each tensor made or inspected through
/// TorchSharp costs about a microsecond, several times the arithmetic; this path creates two tensors (the
/// branch input and the new streams) and reads each argument's properties once. Results equal the
/// autograd path's bit for bit.
/// </summary>
internal sealed class InferenceMix : IDisposable
{
    private readonly IDisposable _scratch;
    private readonly nint _post, _mix;
    private readonly long _tokens;
    private readonly int _n, _channels;

    private InferenceMix(IDisposable scratch, nint post, nint mix, long tokens, int n, int channels)
    {
        _scratch = scratch;
        _post = post;
        _mix = mix;
        _tokens = tokens;
        _n = n;
        _channels = channels;
    }

    /// <summary>
    /// The branch input h [..., C] of streams <paramref name="x"/> (contiguous CPU float32/float64, shape
    /// <paramref name="shape"/> = [..., n, C]); the returned mix keeps H_post and the matrix the merge applies.
    /// The parameters are the connection's, in x's dtype.
    /// </summary>
    public static (Tensor Input, InferenceMix Mix) Run(Tensor x, long[] shape, Tensor phi, Tensor bias, Tensor alpha,
        double rmsEps, int iterations, ConnectionConvention convention)
    {
        long tokens = 1;
        for (int d = 0; d < shape.Length - 2; d++)
            tokens *= shape[d];
        var coefficients = new CoefficientsShape(tokens, (int)shape[^2], (int)shape[^1]);
        long[] inputShape = StreamShape.OneStream(shape);
        var input = empty(inputShape, dtype: x.dtype);
        var mix = x.dtype == ScalarType.Float32
            ? Run<float>(x, phi, bias, alpha, input, coefficients, rmsEps, iterations, convention)
            : Run<double>(x, phi, bias, alpha, input, coefficients, rmsEps, iterations, convention);
        return (input, mix);
    }

    /// <summary>The new streams from the branch output f [..., C] (contiguous, x's dtype and device, checked by the caller).</summary>
    public Tensor Merge(Tensor x, Tensor branchOutput)
    {
        var output = empty_like(x);
        if (x.dtype == ScalarType.Float32)
            Merge<float>(x, branchOutput, output);
        else
            Merge<double>(x, branchOutput, output);
        return output;
    }

    public void Dispose() => _scratch.Dispose();

    private static unsafe InferenceMix Run<T>(Tensor x, Tensor phi, Tensor bias, Tensor alpha, Tensor input,
        CoefficientsShape shape, double rmsEps, int iterations, ConnectionConvention convention)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long tokens = shape.Tokens;
        int n = shape.N, nn = n * n;
        // One block: H_pre, H_post, logits, H_res, the transposed H_res where the convention mixes with it, p and r.
        long pre = 0, post = pre + tokens * n, logits = post + tokens * n, hRes = logits + tokens * nn,
            transposed = hRes + tokens * nn, stats = transposed + tokens * nn, length = stats + tokens * shape.StatsPerToken;
        var scratch = new ScratchArray<T>(length);
        T* block = scratch.Pointer;
        T* xs = TensorMemory.Pointer<T>(x);
        using var projections = CoefficientsFunction.Projections(x, phi);
        CoefficientsKernel<T>.Compute(shape, xs, TensorMemory.Pointer<T>(phi), TensorMemory.OptionalPointer<T>(projections),
            TensorMemory.Pointer<T>(bias), TensorMemory.Pointer<T>(alpha),
            CoefficientsFunction.Form<T>(rmsEps, convention), block + pre, block + post, block + logits, block + stats, TensorMemory.Pointer<T>(input));
        if (convention.SinkhornFromSoftmax())
            SoftmaxSinkhornKernel<T>.Forward(block + logits, block + hRes, tokens, n, iterations, T.CreateChecked(Conventions.Epsilon));
        else
            SinkhornKernel<T>.Forward(block + logits, block + hRes, tokens, n, iterations);
        long mix = hRes;
        if (convention.TransposesResidualMix())
        {
            for (long t = 0; t < tokens; t++)
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < n; j++)
                        block[transposed + t * nn + j * n + i] = block[hRes + t * nn + i * n + j];
            mix = transposed;
        }
        return new InferenceMix(scratch, (nint)(block + post), (nint)(block + mix), tokens, n, shape.Channels);
    }

    private unsafe void Merge<T>(Tensor x, Tensor branchOutput, Tensor output) where T : unmanaged, IFloatingPointIeee754<T>
        => MergeKernel<T>.Forward(TensorMemory.Pointer<T>(x), (T*)_mix, (T*)_post, TensorMemory.Pointer<T>(branchOutput),
            TensorMemory.Pointer<T>(output), _tokens, _n, _channels);
}
