using Mhc.Runtime.Diagnostics;
using System.Numerics;
using Mhc.Runtime.Kernels;
using Mhc.Runtime.Recompute;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Fused pre-mix h = Σ_i H_pre[i]·x[i,:]. Arguments: (x [..., n, C], hPre [..., n]), contiguous, and
/// optionally the <see cref="StreamLink"/> that supplies x in the backward.
/// </summary>
internal sealed class PreMixFunction : SingleTensorFunction<PreMixFunction>
{
    public override string Name => "MhcFusedPreMix";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var hPre = (Tensor)vars[1];
        var link = StreamLinks.Borrowing(ctx, vars, 2);
        ctx.save_for_backward(link is null ? [x, hPre] : [hPre]);
        return Compute(x, hPre);
    }

    /// <summary>The pre-mix without autograd (what runs under no_grad).</summary>
    internal static Tensor Compute(Tensor x, Tensor hPre)
    {
        var output = empty(OpsArguments.Leading(x, 2, x.size(-1)), dtype: x.dtype);
        if (x.dtype == ScalarType.Float32)
            Forward<float>(x, hPre, output);
        else
            Forward<double>(x, hPre, output);
        return output;
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        GradientHandles.ReleaseReturned();
        Tensor gradX, gradPre;
        var borrowed = StreamLinks.BorrowInput(ctx, out var link);
        using (NewDisposeScope())
        {
            var saved = ctx.get_saved_variables();
            if (borrowed is not null) saved.Insert(0, borrowed);
            var (x, hPre) = (saved[0], saved[1]);
            var grad = gradOutput.contiguous();
            gradX = empty_like(x).MoveToOuterDisposeScope();
            gradPre = empty_like(hPre).MoveToOuterDisposeScope();
            if (x.dtype == ScalarType.Float32)
                Backward<float>(x, hPre, grad, gradX, gradPre);
            else
                Backward<double>(x, hPre, grad, gradX, gradPre);
            link?.Release();
        }
        GradientHandles.ReleaseIncoming(gradOutput);
        return GradientHandles.HandOver(gradX, gradPre, null);
    }

    private static unsafe void Forward<T>(Tensor x, Tensor hPre, Tensor output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.PreMixKernel);
        PreMixKernel<T>.Forward(TensorMemory.Pointer<T>(x), TensorMemory.Pointer<T>(hPre), TensorMemory.Pointer<T>(output),
            OpsArguments.Tokens(x, 2), (int)x.size(-2), (int)x.size(-1));
    }

    private static unsafe void Backward<T>(Tensor x, Tensor hPre, Tensor gradOutput, Tensor gradX, Tensor gradPre)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var timed = ConnectionTimings.Time(TimedPart.PreMixBackwardKernel);
        PreMixKernel<T>.Backward(TensorMemory.Pointer<T>(x), TensorMemory.Pointer<T>(hPre), TensorMemory.Pointer<T>(gradOutput),
            TensorMemory.Pointer<T>(gradX), TensorMemory.Pointer<T>(gradPre), OpsArguments.Tokens(x, 2), (int)x.size(-2), (int)x.size(-1));
    }
}
