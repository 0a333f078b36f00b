using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Gpu.Functions;

/// <summary>
/// RMS norm and coefficients on the tensors' device. Arguments: (x [..., n, C], phi, bias, alpha, rmsEps);
/// outputs H_pre, H_post, H_res logits. Saves p [T, m] and r [T] per token besides the inputs and the
/// two sigmoid outputs, so the backward makes no second pass of v·φ.
/// </summary>
internal sealed class DeviceCoefficientsFunction : MultiTensorFunction<DeviceCoefficientsFunction>
{
    public override string Name => "MhcDeviceCoefficients";

    public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
    {
        var (x, phi, bias, alpha) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (Tensor)vars[3]);
        var sizes = DeviceLaunch.Sizes(x, rmsEps: (double)vars[4]);
        ctx.set_materialize_grads(false);
        long n = sizes.Streams;
        var leading = x.shape[..^2];
        using var launch = new DeviceLaunch(x);
        var pre = launch.Empty([.. leading, n]);
        var post = launch.Empty([.. leading, n]);
        var res = launch.Empty([.. leading, n, n]);
        var projections = launch.Empty(sizes.Tokens, sizes.Projections);
        var rms = launch.Empty(sizes.Tokens);
        launch.Kernels.Coefficients(sizes, launch[x], launch[phi], launch[bias], launch[alpha],
            launch[pre], launch[post], launch[res], launch[projections], launch[rms]);
        ctx.save_for_backward([x, phi, bias, alpha, pre, post, projections, rms]);
        return [pre, post, res];
    }

    public override List<Tensor> backward(AutogradContext ctx, List<Tensor> gradOutputs)
    {
        var saved = ctx.get_saved_variables();
        var (x, phi, bias, alpha, pre, post, projections, rms) = (saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], saved[6], saved[7]);
        var sizes = DeviceLaunch.Sizes(x);
        long n = sizes.Streams;
        var gradX = empty_like(x);
        var gradPhi = empty_like(phi);
        var gradBias = empty_like(bias);
        var gradAlpha = empty_like(alpha);
        using (var launch = new DeviceLaunch(x))
        {
            var gradPre = launch.GradientOrZeros(gradOutputs[0], pre.shape);
            var gradPost = launch.GradientOrZeros(gradOutputs[1], post.shape);
            var gradRes = launch.GradientOrZeros(gradOutputs[2], sizes.Tokens, n * n);
            var gradZ = launch.Scratch(sizes.Tokens, sizes.Projections);
            var gradZTimesP = launch.Scratch(sizes.Tokens, sizes.Projections);
            var gradDot = launch.Scratch(sizes.Tokens, sizes.Projections);
            var columnSums = launch.Scratch(sizes.Projections);
            launch.Kernels.CoefficientsBackward(sizes, launch[x], launch[phi], launch[alpha], launch[pre], launch[post],
                launch[projections], launch[rms], launch[gradPre], launch[gradPost], launch[gradRes],
                launch[gradX], launch[gradPhi], launch[gradBias], launch[gradAlpha],
                launch[gradZ], launch[gradZTimesP], launch[gradDot], launch[columnSums]);
        }
        return [gradX, gradPhi, gradBias, gradAlpha, null!];
    }
}
