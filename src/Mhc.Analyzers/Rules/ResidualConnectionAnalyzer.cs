using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Mhc.Analyzers.Detection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Rules;

/// <summary>MHC0001 and MHC0002: residual connections in TorchSharp modules, and whether their model converts.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class ResidualConnectionAnalyzer : DiagnosticAnalyzer
{
    internal const string BlockStackShared =
        "'{0}' runs in two block stacks ({1} and {2}); the fix converts one stack per block class, so give each stack a block class of its own";

    internal const string BlockStackMissing =
        "no model runs this block in a stack ('foreach (var block in list) x = block.forward(x);' over a ModuleList<{0}>), so there is no place for Expand and Reduce";

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
            var stacks = new Lazy<Dictionary<INamedTypeSymbol, BlockStack>>(
                () => BlockStack.FindAll(compilation, symbols, default),
                System.Threading.LazyThreadSafetyMode.ExecutionAndPublication);
            start.RegisterSyntaxNodeAction(c => AnalyzeClass(c, symbols, stacks), SyntaxKind.ClassDeclaration);
        });
    }

    private static void AnalyzeClass(SyntaxNodeAnalysisContext context, TorchSymbols symbols, Lazy<Dictionary<INamedTypeSymbol, BlockStack>> stacks)
    {
        var declaration = (ClassDeclarationSyntax)context.Node;
        if (declaration.BaseList is null
            || context.SemanticModel.GetDeclaredSymbol(declaration, context.CancellationToken) is not { } type
            || !symbols.IsModule(type)
            || symbols.IsHyperConnected(type))
        {
            return;
        }

        var analysis = BlockAnalysis.Analyze(declaration, context.SemanticModel, symbols, context.CancellationToken);
        if (analysis is null)
        {
            return;
        }

        var classProblem = analysis.Problem;
        if (classProblem is null)
        {
            classProblem = !stacks.Value.TryGetValue(type, out var stack) ? string.Format(BlockStackMissing, type.Name)
                : stack.OtherList is { } other ? string.Format(BlockStackShared, type.Name, $"{stack.Owner.Name}.{stack.ListName}", other)
                : null;
        }

        foreach (var site in analysis.Sites)
        {
            var problem = site.Problem ?? classProblem;
            context.ReportDiagnostic(problem is null
                ? Diagnostic.Create(DiagnosticDescriptors.ResidualConnectionFound, site.Node.GetLocation(), site.BaseName)
                : Diagnostic.Create(DiagnosticDescriptors.ResidualConnectionNotConvertible, site.Node.GetLocation(), problem));
        }
    }
}
