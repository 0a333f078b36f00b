using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Vocabulary;

/// <summary>Where a module class keeps its <c>forward</c> and its registration: the lookups every rule and the fix share.</summary>
internal static class ModuleMembers
{
    /// <summary>The <c>forward</c> override declared in this class declaration, with a body; null when there is none.</summary>
    public static MethodDeclarationSyntax? Forward(TypeDeclarationSyntax declaration)
        => declaration.Members.OfType<MethodDeclarationSyntax>().FirstOrDefault(m =>
            m.Identifier.ValueText == "forward"
            && m.Modifiers.Any(SyntaxKind.OverrideKeyword)
            && (m.Body is not null || m.ExpressionBody is not null));

    /// <summary>The <c>RegisterComponents();</c> statement directly in a constructor's body, or null.</summary>
    public static ExpressionStatementSyntax? RegisterComponents(ConstructorDeclarationSyntax constructor)
        => constructor.Body?.Statements.OfType<ExpressionStatementSyntax>().FirstOrDefault(s => IsRegisterComponents(s.Expression));

    /// <summary>
    /// The constructors that build the object themselves: every constructor with a body that does not hand over
    /// to another one with <c>: this(...)</c>. Each must create the connections.
    /// </summary>
    public static System.Collections.Generic.IEnumerable<ConstructorDeclarationSyntax> RootConstructors(TypeDeclarationSyntax declaration)
        => declaration.Members.OfType<ConstructorDeclarationSyntax>().Where(c =>
            !c.Modifiers.Any(SyntaxKind.StaticKeyword)
            && (c.Body is not null || c.ExpressionBody is not null)
            && c.Initializer?.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword) != true);

    /// <summary>The root constructors of every declaration of a (partial) class.</summary>
    public static System.Collections.Generic.IEnumerable<ConstructorDeclarationSyntax> RootConstructors(INamedTypeSymbol type, System.Threading.CancellationToken ct)
        => type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<TypeDeclarationSyntax>().SelectMany(RootConstructors);

    /// <summary>Every constructor of every declaration of a (partial) class.</summary>
    public static System.Collections.Generic.IEnumerable<ConstructorDeclarationSyntax> Constructors(INamedTypeSymbol type, System.Threading.CancellationToken ct)
        => type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<TypeDeclarationSyntax>().SelectMany(d => d.Members.OfType<ConstructorDeclarationSyntax>());

    /// <summary>
    /// The <c>RegisterComponents()</c> call a constructor makes: a statement of its body, or its expression body
    /// (<c>=&gt; RegisterComponents();</c>), which the fix turns into a body.
    /// </summary>
    public static bool IsRegisterComponents(ExpressionSyntax? expression)
        => expression is InvocationExpressionSyntax
        {
            Expression: IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" }
                or MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name.Identifier.ValueText: "RegisterComponents" },
        };
}
