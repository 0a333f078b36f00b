using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Rules;

/// <summary>MHC0003: the generator can only extend a partial class, nested only in partial types.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class HyperConnectedDeclarationAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(DiagnosticDescriptors.HyperConnectedClassNotPartial);

    public override void Initialize(AnalysisContext context)
    {
        context.EnableConcurrentExecution();
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var attribute = start.Compilation.GetTypeByMetadataName(Generator.HyperConnectionGenerator.AttributeMetadataName);
            if (attribute is null)
            {
                return;
            }

            start.RegisterSymbolAction(c => AnalyzeType(c, attribute), SymbolKind.NamedType);
        });
    }

    private static void AnalyzeType(SymbolAnalysisContext context, INamedTypeSymbol attribute)
    {
        var type = (INamedTypeSymbol)context.Symbol;
        var marked = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, attribute));
        if (marked?.ApplicationSyntaxReference?.GetSyntax(context.CancellationToken).FirstAncestorOrSelf<ClassDeclarationSyntax>() is not { } declaration)
        {
            return;
        }

        var problem = !declaration.Modifiers.Any(SyntaxKind.PartialKeyword) ? "not partial"
            : Generator.HyperConnectionGenerator.Parser.ContainingDeclarations(declaration) is null
                ? $"nested in '{declaration.Ancestors().OfType<TypeDeclarationSyntax>().First(t => !t.Modifiers.Any(SyntaxKind.PartialKeyword)).Identifier.ValueText}', which is not partial"
            : null;
        if (problem is not null)
        {
            context.ReportDiagnostic(Diagnostic.Create(DiagnosticDescriptors.HyperConnectedClassNotPartial, declaration.Identifier.GetLocation(), type.Name, problem));
        }
    }
}
