using static TorchSharp.torch;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// One connection's merge gradient ∂out and the matrix M the merge applied, handed from the merge's backward to
/// the mix's: the merge then returns no ∂x (its H_resᵀ·∂out), and the mix adds Σ_i M[i,j]·∂out[i] in the pass
/// that makes its own ∂x, so that autograd adds one ∂x per connection instead of two. Autograd runs the mix's
/// backward after the merge's (the merge's gradients of H_post and M are inputs to it), so the hand-over is
/// always filled first; where a backward stops before the mix (gradients asked of the branch's weights only),
/// the dispose scope of the caller of backward() frees the two tensors.
/// </summary>
internal sealed class DeferredStreamGradient
{
    private Tensor? _gradOutput, _mix;

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
