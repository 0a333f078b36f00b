using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Generator;

/// <summary>
/// Emits the n-stream bookkeeping of every <c>[HyperConnected]</c> class: the connection fields its
/// <c>forward</c> uses, <c>InitializeHyperConnections(channels)</c> that builds them with their layer index
/// and options, and the <c>HyperConnectionStreams</c> constant that Expand and the stream-shape rules read.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed partial class HyperConnectionGenerator : IIncrementalGenerator
{
    internal const string AttributeMetadataName = "Mhc.Runtime.HyperConnectedAttribute";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var classes = context.SyntaxProvider
            .ForAttributeWithMetadataName(
                AttributeMetadataName,
                static (node, _) => node is ClassDeclarationSyntax,
                static (syntax, ct) => Parser.Parse(syntax, ct))
            .WithTrackingName(TrackingNames.HyperConnectedClasses)
            .Where(static c => c is not null)
            .Select(static (c, _) => c!);

        var defaults = context.AnalyzerConfigOptionsProvider
            .Select(static (options, _) => Parser.ReadDefaults(options.GlobalOptions))
            .WithTrackingName(TrackingNames.BuildDefaults);

        var specs = classes
            .Combine(defaults)
            .Select(static (pair, _) => new GenerationSpec(
                pair.Left,
                pair.Left.Streams > 0 ? pair.Left.Streams : pair.Right.Streams,
                pair.Left.SinkhornIterations > 0 ? pair.Left.SinkhornIterations : pair.Right.SinkhornIterations))
            .WithTrackingName(TrackingNames.WithDefaults);

        context.RegisterSourceOutput(specs, static (spc, spec) =>
            spc.AddSource(spec.Class.HintName + ".HyperConnections.g.cs", Emitter.Emit(spec)));
    }
}
