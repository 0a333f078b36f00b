using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Mhc.Analyzers.Detection.Blocks;
using Mhc.Analyzers.Detection.Shapes;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Mhc.Analyzers.Rules;

/// <summary>
/// MHC1001–MHC1005: follows which tensors hold n streams through each <c>forward</c> (<see cref="ShapeFlow"/>: Expand makes
/// streams, Reduce removes them, hyper-connected blocks need and keep them, other modules need one
/// stream) and checks connection widths against their branches.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class StreamShapeAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.StreamsCollapsedInsideStack,
        DiagnosticDescriptors.BlockInputNotExpanded,
        DiagnosticDescriptors.StreamCountMismatch,
        DiagnosticDescriptors.ChannelWidthMismatch,
        DiagnosticDescriptors.StreamTensorToSingleStreamModule);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            // Without TorchSharp and Mhc.Runtime there are no streams to follow.
            var symbols = TorchSymbols.Create(start.Compilation);
            if (symbols?.HyperStreams is null || symbols.HyperConnectedAttribute is null)
            {
                return;
            }

            // The same defaults the generator builds the connections with.
            var defaultStreams = Generator.HyperConnectionGenerator.Parser.ReadDefaults(start.Options.AnalyzerConfigOptionsProvider.GlobalOptions).Streams;
            start.RegisterSyntaxNodeAction(c => AnalyzeClass(c, symbols, defaultStreams), SyntaxKind.ClassDeclaration);
        });
    }

    private static void AnalyzeClass(SyntaxNodeAnalysisContext context, TorchSymbols symbols, int defaultStreams)
    {
        var declaration = (ClassDeclarationSyntax)context.Node;
        if (declaration.BaseList is null
            || context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) is not { } type
            || !symbols.IsModule(type))
        {
            return;
        }

        foreach (var forward in declaration.Members.OfType<MethodDeclarationSyntax>().Where(m => m.Identifier.ValueText == "forward"))
        {
            new ShapeFlow(context.SemanticModel, symbols, defaultStreams, type, (finding, node, arguments) => context.ReportDiagnostic(
                Diagnostic.Create(Descriptor(finding), node.GetLocation(), arguments)), context.CancellationToken).Walk(forward);
        }

        if (symbols.IsHyperConnected(type))
        {
            CheckChannelWidths(context, declaration, symbols);
        }
    }

    private static DiagnosticDescriptor Descriptor(ShapeFinding finding) => finding switch
    {
        ShapeFinding.CollapsedInsideStack => DiagnosticDescriptors.StreamsCollapsedInsideStack,
        ShapeFinding.InputNotExpanded => DiagnosticDescriptors.BlockInputNotExpanded,
        ShapeFinding.StreamCountMismatch => DiagnosticDescriptors.StreamCountMismatch,
        _ => DiagnosticDescriptors.StreamTensorToSingleStreamModule,
    };


    /// <summary>MHC1004: <c>InitializeHyperConnections(channels: 64)</c> against a branch that starts with <c>LayerNorm(128)</c>.</summary>
    private static void CheckChannelWidths(SyntaxNodeAnalysisContext context, ClassDeclarationSyntax declaration, TorchSymbols symbols)
    {
        var model = context.SemanticModel;
        var ct = context.CancellationToken;
        var initialization = declaration.Members.OfType<ConstructorDeclarationSyntax>()
            .SelectMany(c => c.DescendantNodes().OfType<InvocationExpressionSyntax>().Select(i => (Constructor: c, Call: i)))
            .FirstOrDefault(p => p.Call.Expression is IdentifierNameSyntax { Identifier.ValueText: MhcDefaults.InitializeMethod } && p.Call.ArgumentList.Arguments.Count == 1);
        if (initialization.Call is null)
        {
            return;
        }

        var channels = initialization.Call.ArgumentList.Arguments[0].Expression;
        var widths = new ModuleWidths(declaration, model, symbols, ct);
        foreach (var call in declaration.DescendantNodes().OfType<InvocationExpressionSyntax>())
        {
            if (ModuleCalls.Receiver(call) is not IdentifierNameSyntax connection
                || !connection.Identifier.ValueText.StartsWith(MhcDefaults.ConnectionPrefix, System.StringComparison.Ordinal)
                || call.ArgumentList.Arguments.Count != 2
                || call.ArgumentList.Arguments[1].Expression is not LambdaExpressionSyntax lambda
                || LambdaParameter(lambda) is not { } parameter)
            {
                continue;
            }

            // The first module applied to the branch's input gives the width the branch expects.
            var first = lambda.Body.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>().OrderBy(i => i.Span.End).FirstOrDefault(inner =>
                ModuleCalls.Receiver(inner) is not null
                && inner.ArgumentList.Arguments.Count > 0
                && inner.ArgumentList.Arguments[0].Expression is IdentifierNameSyntax argument
                && argument.Identifier.ValueText == parameter);
            if (first is null
                || model.GetSymbolInfo(ModuleCalls.Receiver(first)!, ct).Symbol is not { Kind: SymbolKind.Field or SymbolKind.Property } member
                || widths.InputWidth(member, initialization.Constructor, initialization.Call.FirstAncestorOrSelf<StatementSyntax>()) is not { } width)
            {
                continue;
            }

            if (widths.Differs(channels, width))
            {
                context.ReportDiagnostic(Diagnostic.Create(
                    DiagnosticDescriptors.ChannelWidthMismatch, call.GetLocation(), connection.Identifier.ValueText, channels.ToString(), member.Name, width));
            }
        }
    }

    private static string? LambdaParameter(LambdaExpressionSyntax lambda) => lambda switch
    {
        SimpleLambdaExpressionSyntax simple => simple.Parameter.Identifier.ValueText,
        ParenthesizedLambdaExpressionSyntax { ParameterList.Parameters.Count: 1 } parenthesized => parenthesized.ParameterList.Parameters[0].Identifier.ValueText,
        _ => null,
    };
}
