using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection.Sites;

/// <summary>Small syntax questions the site analysis asks about statements and expressions.</summary>
internal static class SyntaxQueries
{
    public static int Line(SyntaxNode node) => node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;

    /// <summary>The expression with the parentheses around it: where it sits in its statement.</summary>
    public static SyntaxNode Outermost(SyntaxNode node)
    {
        while (node.Parent is ParenthesizedExpressionSyntax parenthesized)
        {
            node = parenthesized;
        }

        return node;
    }

    /// <summary>The expression without the parentheses inside it.</summary>
    public static ExpressionSyntax Innermost(ExpressionSyntax expression)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
        {
            expression = parenthesized.Expression;
        }

        return expression;
    }

    /// <summary>The expression without parentheses and without <c>.alias()</c> (a new handle on the same tensor).</summary>
    public static ExpressionSyntax AliasedValue(ExpressionSyntax expression)
    {
        var inner = Innermost(expression);
        while (inner is InvocationExpressionSyntax { ArgumentList.Arguments.Count: 0, Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "alias" } access })
        {
            inner = Innermost(access.Expression);
        }

        return inner;
    }

    /// <summary>
    /// The statement's one assignment or declaration of a single variable from an expression:
    /// <c>a = e;</c> or <c>var a = e;</c> (<c>T a = e;</c>). Null for anything else.
    /// </summary>
    public static (SyntaxToken Target, ExpressionSyntax Value, bool Declares)? SingleAssignment(StatementSyntax statement) => statement switch
    {
        ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: IdentifierNameSyntax left } assignment }
            when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression) => (left.Identifier, assignment.Right, false),
        LocalDeclarationStatementSyntax { UsingKeyword.RawKind: 0, Declaration.Variables: [{ Initializer: { } initializer } variable] } declaration
            when !declaration.Modifiers.Any(SyntaxKind.ConstKeyword) => (variable.Identifier, initializer.Value, true),
        _ => null,
    };

    /// <summary>Statements inside <paramref name="statement"/> that leave it: returns, jumps out, yields and awaits.</summary>
    public static SyntaxNode? EscapingControlFlow(StatementSyntax statement)
    {
        foreach (var node in statement.DescendantNodesAndSelf(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
        {
            switch (node)
            {
                case ReturnStatementSyntax or YieldStatementSyntax or GotoStatementSyntax or LabeledStatementSyntax or AwaitExpressionSyntax or ThrowStatementSyntax { Expression: null }:
                    return node;
                case BreakStatementSyntax or ContinueStatementSyntax:
                    // Fine when the loop or switch it leaves is inside the statement too.
                    var target = node.Ancestors().TakeWhile(a => a != statement.Parent)
                        .FirstOrDefault(a => a is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax
                            || (node is BreakStatementSyntax && a is SwitchStatementSyntax));
                    if (target is null)
                    {
                        return node;
                    }

                    break;
            }
        }

        return null;
    }

    /// <summary>Identifiers in <paramref name="node"/> that the class already uses, so a new name does not clash.</summary>
    public static HashSet<string> IdentifiersIn(SyntaxNode node)
        => new(node.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText));

    /// <summary>True when <paramref name="node"/> lies inside one of <paramref name="containers"/>.</summary>
    public static bool Within(SyntaxNode node, IEnumerable<SyntaxNode> containers)
        => containers.Any(c => c.Span.Contains(node.Span));
}
