using static TorchSharp.torch;

namespace Mhc.Runtime.Ops.Fused;

/// <summary>
/// Ends the managed wrappers of the gradients that pass through a fused backward as soon as the native
/// engine is done with them. TorchSharp wraps every incoming gradient in a new Tensor registered on the
/// dispose scope that was current when <c>backward()</c> was called, and the gradients a backward returns
/// must stay valid until the engine has taken them, which happens after the backward has returned. Left to
/// that scope, both kinds pile up for the whole backward pass: on the sample GPT (mHC, n = 4) about 2.5
/// stream states per connection, which made the backward, not the forward, the peak of a training step.
/// The engine holds its own references, so ending a wrapper frees a gradient once the engine drops it.
/// What is not disposed early is disposed by the caller's scope, as before; without a scope, the last
/// node's results stay referenced until the next fused backward on the same thread.
/// </summary>
internal static class GradientHandles
{
    // Per thread: on the CPU the engine runs every node on the thread that called backward(), and a fused
    // backward starts no other, so the previous node's results have been taken by the time the next
    // fused backward runs here.
    [ThreadStatic] private static List<Tensor>? t_returned;

    /// <summary>Disposes the results the previous fused backward on this thread returned; call first in a backward.</summary>
    public static void ReleaseReturned()
    {
        if (t_returned is not { Count: > 0 } returned) return;
        foreach (var tensor in returned)
            tensor.Dispose();
        returned.Clear();
    }

    /// <summary>Disposes the wrappers of this call's incoming gradients: made for this call alone, nothing reads them after it.</summary>
    public static void ReleaseIncoming(params Tensor?[] incoming)
    {
        foreach (var grad in incoming)
            if (grad is { IsInvalid: false })
                grad.Dispose();
    }

    /// <summary>This backward's results, remembered for <see cref="ReleaseReturned"/> at the next fused backward on this thread.</summary>
    public static List<Tensor> HandOver(params Tensor?[] results)
    {
        var returned = t_returned ??= [];
        returned.AddRange(results.OfType<Tensor>());
        return results.Select(r => r!).ToList();
    }
}
