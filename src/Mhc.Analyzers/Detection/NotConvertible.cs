using System.Collections.Immutable;
using System.Linq;

namespace Mhc.Analyzers.Detection;

/// <summary>
/// One reason a residual connection cannot be converted (MHC0002). The key is stable: it is the diagnostic's
/// <c>reason</c> property, the row of docs/rules/MHC0002.md that explains it, and what tests assert.
/// </summary>
internal sealed record NotConvertible(string Key, string Title, string Advice)
{
    /// <summary>The diagnostic message: the reason's own words with the details of this site.</summary>
    public Problem With(string detail) => new(this, detail);
}

/// <summary>A reason with the details of one site.</summary>
internal sealed record Problem(NotConvertible Reason, string Message);

/// <summary>Every reason MHC0002 gives, in one catalogue: the rule page lists exactly these (a test checks it).</summary>
internal static class Reasons
{
    public static readonly NotConvertible PostNorm = new(
        "post-norm",
        "post-norm",
        "The sum is normalized before it flows on; a norm of n streams is not what the model computed. Convert the block to pre-norm by hand first.");

    public static readonly NotConvertible Conditional = new(
        "conditional",
        "the residual exists only under a condition",
        "A connection of its own would change the path that has no residual. An if without else that runs only residual connections on the stream converts (an optional sub-layer), also beside statements that do not touch the stream (`CrossWeights = attended.Item2;`); otherwise build two block classes, one with the residual and one without, or make it unconditional.");

    public static readonly NotConvertible ProjectionShortcut = new(
        "projection-shortcut",
        "projection or downsampling shortcut",
        "The identity path itself runs a module (a projection, a downsampling convolution), so it is not an identity; only identity shortcuts widen to n streams.");

    public static readonly NotConvertible InnerIdentity = new(
        "inner-identity",
        "the identity path is not the block's stream",
        "The residual adds to a module's output, not to the tensor the block receives; only residuals along the block's input convert.");

    public static readonly NotConvertible ChannelFirst = new(
        "channel-first",
        "channel-first convolutional block",
        "Streams sit just before the last (channel) axis; convolutions and batch norms keep channels on axis 1, so such blocks are not supported.");

    public static readonly NotConvertible InLoop = new(
        "in-loop",
        "inside a loop",
        "Every iteration would need a connection of its own: make the loop a stack of blocks (a ModuleList) in the model.");

    public static readonly NotConvertible StreamEscapes = new(
        "stream-escapes",
        "the residual stream is used outside residual connections",
        "After conversion the stream variable holds n streams; move that use into a branch, or out of the block.");

    public static readonly NotConvertible BranchLayout = new(
        "branch-layout",
        "the branch cannot be moved into a connection",
        "The statements that compute the branch must sit in the same statement list as the sum, without early returns, jumps, using declarations or preprocessor directives among them.");

    public static readonly NotConvertible WidthUnknown = new(
        "width-unknown",
        "the channel width is not known",
        "Name it for the block: `mhc_channels.<Block> = <expression>` in .editorconfig, or `dotnet mhc convert --channels <Block>=<expression>`, with an expression valid in the block's constructors.");

    public static readonly NotConvertible NoStack = new(
        "no-stack",
        "no block stack",
        "Expand and Reduce need a place: stack the blocks in a ModuleList, an array, a list or a Sequential that a model runs in order; or convert a block library with `dotnet mhc convert --library` (MSBuild: `<MhcLibrary>true</MhcLibrary>`), leaving Expand and Reduce to the caller.");

    public static readonly NotConvertible Stack = new(
        "stack",
        "the block stack cannot be converted",
        "Run the blocks in a loop (or a Sequential) that passes one variable from block to block and changes it only by the blocks' output; keep other changes (dropout, a norm) before or after the stack, and call the block only from the stack.");

    public static readonly NotConvertible Declaration = new(
        "declaration",
        "the block class cannot be extended",
        "The generated half of the class needs a partial class in source, inside partial classes if nested, with a constructor body.");

    public static ImmutableArray<NotConvertible> All { get; } = ImmutableArray.Create(
        PostNorm, Conditional, ProjectionShortcut, InnerIdentity, ChannelFirst, InLoop, StreamEscapes,
        BranchLayout, WidthUnknown, NoStack, Stack, Declaration);

    public static NotConvertible? Find(string key) => All.FirstOrDefault(r => r.Key == key);
}
