using static TorchSharp.torch;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// The hand-over between one connection's mix and merge. Forward: the mix leaves the matrix M the merge applies here
/// (<see cref="HoldMix"/>) instead of among its autograd outputs, so that no gradient of M passes through autograd.
/// Backward: the merge leaves its gradient ∂out and M (<see cref="Deposit"/>), returns neither ∂x (its M-part,
/// Σ_i M[i,j]·∂out[i]) nor ∂M (∂out·xᵀ), both of which need x, and the mix makes them in its one pass over x. Autograd
/// runs the mix's backward after the merge's (the merge's gradient of H_post is an input to it), so the hand-over is
/// always filled first; where a backward stops before the mix (gradients asked of the branch's weights only), the
/// dispose scope of the caller of backward() frees the two tensors.
/// </summary>
internal sealed class DeferredStreamGradient
{
    private Tensor? _gradOutput, _mix, _forwardMix;

    /// <summary>Called by the mix's forward: M, made without autograd, for the connection to pass to its merge.</summary>
    public void HoldMix(Tensor mix) => _forwardMix = mix;

    /// <summary>The matrix <see cref="HoldMix"/> was given; the caller owns it.</summary>
    public Tensor TakeMix()
    {
        var mix = _forwardMix ?? throw new InvalidOperationException("The connection's mix has not run.");
        _forwardMix = null;
        return mix;
    }

    /// <summary>Called by the merge's backward: the mix's backward disposes both handles.</summary>
    public void Deposit(Tensor gradOutput, Tensor mix)
    {
        Release();
        _gradOutput = gradOutput;
        _mix = mix;
    }

    /// <summary>∂out and M for the mix's backward, or nulls when the merge sent none; the caller disposes them.</summary>
    public (Tensor? GradOutput, Tensor? Mix) Take()
    {
        var taken = (_gradOutput, _mix);
        _gradOutput = _mix = null;
        return taken;
    }

    private void Release()
    {
        _gradOutput?.Dispose();
        _mix?.Dispose();
        _gradOutput = _mix = null;
    }
}
