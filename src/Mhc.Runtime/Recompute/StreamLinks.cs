using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace Mhc.Runtime.Recompute;

/// <summary>How the fused ops carry a <see cref="StreamLink"/> from their forward to their backward.</summary>
internal static class StreamLinks
{
    private const string Key = "mhc.stream-link";

    /// <summary>
    /// The value the ops take in the link's argument position: always present, since a custom function
    /// returns one gradient per argument and the count must not depend on whether a link was given.
    /// </summary>
    public static object Argument(StreamLink? link) => (object?)link ?? NoLink;

    /// <summary>
    /// The link in <paramref name="vars"/>[<paramref name="position"/>] when it borrows x (a later link of a
    /// segment): recorded on the context and counted as a read; null when the op must save x itself.
    /// </summary>
    public static StreamLink? Borrowing(AutogradContext ctx, object[] vars, int position)
    {
        var link = vars.Length > position && vars[position] is StreamLink { SavesInput: false } later ? later : null;
        link?.ExpectRead();
        // Recorded either way, so the backward reads a present key (it must not throw there).
        ctx.save_data(Key, (object?)link ?? NoLink);
        return link;
    }

    /// <summary>The borrowing link recorded in the forward, if any.</summary>
    public static StreamLink? Of(AutogradContext ctx) => ctx.get_data(Key) as StreamLink;

    /// <summary>
    /// The x an op's backward borrows from its segment (null where the op saved x itself), with the link to
    /// release it through. Call it before the op opens its own dispose scope, so that the re-derived state's
    /// backstop is the scope of the caller of backward().
    /// </summary>
    public static Tensor? BorrowInput(AutogradContext ctx, out StreamLink? link)
    {
        link = Of(ctx);
        return link?.Borrow();
    }

    /// <summary>Records on a merge's context the segment it starts, if its link is a segment's first.</summary>
    public static void MarkSegmentStart(AutogradContext ctx, StreamLink? link)
        => ctx.save_data(StartKey, link is { SavesInput: true } ? link.Segment : NoLink);

    /// <summary>The segment whose first merge this context is, if any.</summary>
    public static RecomputeSegment? SegmentStartedBy(AutogradContext ctx) => ctx.get_data(StartKey) as RecomputeSegment;

    private const string StartKey = "mhc.segment-start";

    private static readonly object NoLink = new();
}
