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
        => constructor.Body?.Statements.OfType<ExpressionStatementSyntax>().FirstOrDefault(s => s.Expression is InvocationExpressionSyntax
        {
            Expression: IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" }
                or MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax, Name.Identifier.ValueText: "RegisterComponents" },
        });

    /// <summary>
    /// The constructors that build the object themselves: every constructor with a body that does not hand over
    /// to another one with <c>: this(...)</c>. Each must create the connections.
    /// </summary>
    public static System.Collections.Generic.IEnumerable<ConstructorDeclarationSyntax> RootConstructors(TypeDeclarationSyntax declaration)
        => declaration.Members.OfType<ConstructorDeclarationSyntax>().Where(c =>
            !c.Modifiers.Any(SyntaxKind.StaticKeyword)
            && c.Body is not null
            && c.Initializer?.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword) != true);
}
