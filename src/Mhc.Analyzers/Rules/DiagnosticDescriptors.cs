using Microsoft.CodeAnalysis;

namespace Mhc.Analyzers.Rules;

internal static class DiagnosticDescriptors
{
    private const string ConversionCategory = "Mhc.Conversion";
    private const string StreamShapeCategory = "Mhc.StreamShape";

    // Info, not warning: a residual connection is correct code; the rule only offers the conversion.
    public static readonly DiagnosticDescriptor ResidualConnectionFound = new(
        RuleIdentifiers.ResidualConnectionFound,
        title: "Residual connection can be hyper-connected",
        messageFormat: "Residual connection around '{0}' can be converted to a manifold-constrained hyper-connection",
        ConversionCategory,
        DiagnosticSeverity.Info,
        isEnabledByDefault: true,
        description: "A residual connection (the identity path plus a branch applied to the same tensor) in a TorchSharp module's forward method. The code fix converts the model to run on n streams.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.ResidualConnectionFound));

    // Info as well: the code is correct as written; the diagnostic explains why no fix is offered.
    public static readonly DiagnosticDescriptor ResidualConnectionNotConvertible = new(
        RuleIdentifiers.ResidualConnectionNotConvertible,
        title: "Residual connection cannot be converted safely",
        messageFormat: "Residual connection cannot be converted to a hyper-connection: {0}",
        ConversionCategory,
        DiagnosticSeverity.Info,
        isEnabledByDefault: true,
        description: "A residual connection was found, but converting its model could change what the model computes. No code fix is offered; the message says why.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.ResidualConnectionNotConvertible));

    // An error: without it the user sees only "hc_attn does not exist" errors from the missing generated half.
    public static readonly DiagnosticDescriptor HyperConnectedClassNotPartial = new(
        RuleIdentifiers.HyperConnectedClassNotPartial,
        title: "A [HyperConnected] class must be partial, and so must the types it is nested in",
        messageFormat: "'{0}' is marked [HyperConnected] but is {1}, so its connections cannot be generated",
        ConversionCategory,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The generator adds the connection fields, InitializeHyperConnections and HyperConnectionStreams to the other half of a partial class; a nested class's generated half repeats the types around it, so they must be partial too.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.HyperConnectedClassNotPartial));

    // Errors: each of these silently turns a hyper-connected model into something else.
    public static readonly DiagnosticDescriptor StreamsCollapsedInsideStack = new(
        RuleIdentifiers.StreamsCollapsedInsideStack,
        title: "Streams collapsed inside the hyper-connected block stack",
        messageFormat: "'{0}' collapses the streams between hyper-connected blocks; the following blocks' hyper-connections degrade to a plain residual connection",
        StreamShapeCategory,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Between Expand and Reduce every hyper-connected block must receive and return all n streams. Reducing, or reducing and re-expanding, inside the block loop makes the streams identical again at every block.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.StreamsCollapsedInsideStack));

    public static readonly DiagnosticDescriptor BlockInputNotExpanded = new(
        RuleIdentifiers.BlockInputNotExpanded,
        title: "Hyper-connected block called on a tensor that was never expanded",
        messageFormat: "'{0}' is hyper-connected and expects n streams, but '{1}' was never expanded; call HyperStreams.Expand before the block stack",
        StreamShapeCategory,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "A hyper-connected block takes and returns [..., n, C]. Given a single-stream [..., C] tensor it would treat the channel axis's neighbour as the stream axis.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.BlockInputNotExpanded));

    public static readonly DiagnosticDescriptor StreamCountMismatch = new(
        RuleIdentifiers.StreamCountMismatch,
        title: "Stream counts disagree",
        messageFormat: "Streams expanded to {0}, but '{1}' builds its hyper-connections for {2} streams",
        StreamShapeCategory,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The stream count passed to HyperStreams.Expand must equal the stream count of the hyper-connected blocks that consume the expanded tensor.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.StreamCountMismatch));

    public static readonly DiagnosticDescriptor ChannelWidthMismatch = new(
        RuleIdentifiers.ChannelWidthMismatch,
        title: "Connection width differs from its branch's input width",
        messageFormat: "Connection '{0}' is built for {1} channels, but its branch starts with '{2}' of width {3}",
        StreamShapeCategory,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "InitializeHyperConnections(channels) must be given the width of the residual stream, which is the input width of each branch's first module.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.ChannelWidthMismatch));

    public static readonly DiagnosticDescriptor StreamTensorToSingleStreamModule = new(
        RuleIdentifiers.StreamTensorToSingleStreamModule,
        title: "Stream tensor passed to a single-stream module",
        messageFormat: "'{0}' holds n streams [..., n, C] here, but '{1}' expects one stream; reduce the streams first (HyperStreams.Reduce) or apply it inside a hyper-connection's branch",
        StreamShapeCategory,
        DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "Between Expand and Reduce only hyper-connected blocks and hyper-connections may consume the stream tensor. A norm or head applied to it would run on every stream separately and its output would keep the stream axis.",
        helpLinkUri: RuleIdentifiers.GetHelpUri(RuleIdentifiers.StreamTensorToSingleStreamModule));
}
