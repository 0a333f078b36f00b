using System;
using System.Collections.Immutable;
using Mhc.Analyzers.Detection;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Rules;

/// <summary>MHC0001 and MHC0002: residual connections in TorchSharp modules, and whether their model converts.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ResidualConnectionAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The diagnostic property holding an MHC0002 reason's stable key (docs/rules/MHC0002.md).</summary>
    public const string ReasonProperty = "reason";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.ResidualConnectionFound,
        DiagnosticDescriptors.ResidualConnectionNotConvertible);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            // Resolved once; without TorchSharp there is nothing to look at.
            var symbols = TorchSymbols.Create(start.Compilation);
            if (symbols is null)
            {
                return;
            }

            var compilation = start.Compilation;
            var options = start.Options.AnalyzerConfigOptionsProvider;
            var plan = new Lazy<ConversionPlan>(
                () => ConversionPlan.Build(compilation, symbols, options, default),
                System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);
            start.RegisterSyntaxNodeAction(c => AnalyzeClass(c, symbols, plan), SyntaxKind.ClassDeclaration);
        });
    }

    private static void AnalyzeClass(SyntaxNodeAnalysisContext context, TorchSymbols symbols, Lazy<ConversionPlan> plan)
    {
        var declaration = (ClassDeclarationSyntax)context.Node;
        // Every declaration of a partial class: the one holding forward may name no base class.
        if (context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) is not { } type
            || !symbols.IsModule(type)
            || symbols.IsHyperConnected(type)
            || plan.Value.Block(type) is not { } analysis
            || analysis.Declaration != declaration)
        {
            return;
        }

        var blockProblem = plan.Value.ProblemOf(analysis);
        foreach (var site in analysis.Sites)
        {
            var problem = site.Problem ?? blockProblem;
            context.ReportDiagnostic(problem is null
                ? Diagnostic.Create(DiagnosticDescriptors.ResidualConnectionFound, site.Node.GetLocation(), site.BaseName)
                : Diagnostic.Create(
                    DiagnosticDescriptors.ResidualConnectionNotConvertible,
                    site.Node.GetLocation(),
                    ImmutableDictionary<string, string?>.Empty.Add(ReasonProperty, problem.Reason.Key),
                    problem.Message));
        }
    }
}
