using System.Diagnostics;
using Mhc.Runtime.Ops.Fused;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Diagnostics;

/// <summary>
/// An identity node on a branch's input or output, placed while <see cref="ConnectionTimings"/> is on, whose
/// backward notes the time: the output's marks the branch's backward starting, the input's its end
/// (<see cref="TimedPart.BranchBackward"/>). On the CPU the engine runs nodes one at a time, latest first, so
/// what runs between the two is the branch's own backward.
/// </summary>
internal sealed class BranchMarker : SingleTensorFunction<BranchMarker>
{
    public override string Name => "MhcBranchMarker";

    private const string SpanKey = "span", EndKey = "end";

    /// <summary>The two marks of one branch call.</summary>
    internal sealed class Span
    {
        public long BackwardStart;
    }

    /// <summary>An alias of <paramref name="tensor"/> that marks the branch's backward starting or (<paramref name="end"/>) ending.</summary>
    public static Tensor Mark(Tensor tensor, Span span, bool end) => apply(tensor, span, end);

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        ctx.save_data(SpanKey, vars[1]);
        ctx.save_data(EndKey, vars[2]);
        return ((Tensor)vars[0]).alias();
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput)
    {
        var span = (Span)ctx.get_data(SpanKey);
        bool end = (bool)ctx.get_data(EndKey);
        using var timed = ConnectionTimings.TimeBackward(TimedPart.None, end ? BackwardNode.BranchInput : BackwardNode.BranchOutput);
        long now = Stopwatch.GetTimestamp();
        if (end)
        {
            if (span.BackwardStart != 0)
                ConnectionTimings.Add(TimedPart.BranchBackward, now - span.BackwardStart);
        }
        else
            span.BackwardStart = now;
        GradientHandles.ReleaseReturned();
        var gradient = gradOutput.alias();
        GradientHandles.ReleaseIncoming(gradOutput);
        return GradientHandles.HandOver(gradient, null, null);
    }
}
