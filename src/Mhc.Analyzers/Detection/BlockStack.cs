using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection;

/// <summary>
/// A model that runs a stack of blocks: a <c>ModuleList&lt;Block&gt;</c> member iterated in its
/// <c>forward</c> as <c>foreach (var b in h) x = b.forward(x);</c> (or <c>.call</c>, or an indexed <c>for</c>).
/// Expand goes before that loop and Reduce after it.
/// </summary>
internal sealed class BlockStack
{
    private BlockStack(INamedTypeSymbol owner, INamedTypeSymbol block, StatementSyntax loop, string streamVariable)
    {
        Owner = owner;
        Block = block;
        Loop = loop;
        StreamVariable = streamVariable;
    }

    public INamedTypeSymbol Owner { get; }

    public INamedTypeSymbol Block { get; }

    public StatementSyntax Loop { get; }

    public string StreamVariable { get; }

    /// <summary>
    /// Every block stack in the compilation, keyed by block type. Walks member symbols and reads the owner's
    /// <c>forward</c> syntax only; no semantic model is built, so it is cheap to compute once per compilation.
    /// </summary>
    public static Dictionary<INamedTypeSymbol, BlockStack> FindAll(Compilation compilation, TorchSymbols symbols, CancellationToken cancellationToken)
    {
        var stacks = new Dictionary<INamedTypeSymbol, BlockStack>(SymbolEqualityComparer.Default);
        if (symbols.ModuleList is null)
        {
            return stacks;
        }

        foreach (var type in AllTypes(compilation.Assembly.GlobalNamespace))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!symbols.IsModule(type))
            {
                continue;
            }

            foreach (var member in type.GetMembers())
            {
                var memberType = member switch
                {
                    IFieldSymbol field => field.Type,
                    IPropertySymbol property => property.Type,
                    _ => null,
                };
                if (symbols.ModuleListElement(memberType) is not INamedTypeSymbol block || stacks.ContainsKey(block))
                {
                    continue;
                }

                var name = member is IFieldSymbol { AssociatedSymbol: { } backing } ? backing.Name : member.Name;
                var found = FindLoop(type, name, cancellationToken);
                if (found is { } loop)
                {
                    stacks[block] = new BlockStack(type, block, loop.Statement, loop.Variable);
                }
            }
        }

        return stacks;
    }

    private static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
    {
        foreach (var type in ns.GetTypeMembers())
        {
            yield return type;
        }

        foreach (var child in ns.GetNamespaceMembers())
        {
            foreach (var type in AllTypes(child))
            {
                yield return type;
            }
        }
    }

    private static (StatementSyntax Statement, string Variable)? FindLoop(INamedTypeSymbol owner, string listName, CancellationToken cancellationToken)
    {
        foreach (var reference in owner.DeclaringSyntaxReferences)
        {
            if (reference.GetSyntax(cancellationToken) is not ClassDeclarationSyntax declaration)
            {
                continue;
            }

            var forward = declaration.Members.OfType<MethodDeclarationSyntax>()
                .FirstOrDefault(m => m.Identifier.ValueText == "forward" && m.Body is not null);
            if (forward is null)
            {
                continue;
            }

            foreach (var statement in forward.Body!.DescendantNodes().OfType<StatementSyntax>())
            {
                switch (statement)
                {
                    case ForEachStatementSyntax loop when NamesMember(loop.Expression, listName):
                        if (SingleStep(loop.Statement, receiver => receiver is IdentifierNameSyntax id && id.Identifier.ValueText == loop.Identifier.ValueText) is { } variable)
                        {
                            return (loop, variable);
                        }

                        break;
                    case ForStatementSyntax loop:
                        if (SingleStep(loop.Statement, receiver => receiver is ElementAccessExpressionSyntax element && NamesMember(element.Expression, listName)) is { } indexed)
                        {
                            return (loop, indexed);
                        }

                        break;
                }
            }
        }

        return null;
    }

    private static bool NamesMember(ExpressionSyntax expression, string name) => expression switch
    {
        IdentifierNameSyntax id => id.Identifier.ValueText == name,
        MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax } member => member.Name.Identifier.ValueText == name,
        _ => false,
    };

    /// <summary>
    /// The variable <c>x</c> when the loop body is exactly <c>x = block.forward(x);</c>; further arguments
    /// (<c>x = layer.forward(x, mask)</c>) pass through unchanged.
    /// </summary>
    private static string? SingleStep(StatementSyntax body, System.Func<ExpressionSyntax, bool> isBlock)
    {
        if (body is BlockSyntax { Statements.Count: 1 } block)
        {
            body = block.Statements[0];
        }

        if (body is ExpressionStatementSyntax
            {
                Expression: AssignmentExpressionSyntax
                {
                    Left: IdentifierNameSyntax target,
                    Right: InvocationExpressionSyntax
                    {
                        Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "forward" or "call" } access,
                        ArgumentList.Arguments: [{ Expression: IdentifierNameSyntax argument }, ..],
                    },
                } assignment,
            }
            && assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
            && argument.Identifier.ValueText == target.Identifier.ValueText
            && isBlock(access.Expression))
        {
            return target.Identifier.ValueText;
        }

        return null;
    }
}
