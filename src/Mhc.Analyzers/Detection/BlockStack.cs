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
    private BlockStack(INamedTypeSymbol owner, INamedTypeSymbol block, StatementSyntax loop, string streamVariable, string listName, InvocationExpressionSyntax step)
    {
        Owner = owner;
        Block = block;
        Loop = loop;
        StreamVariable = streamVariable;
        ListName = listName;
        Step = step;
    }

    public INamedTypeSymbol Owner { get; }

    public INamedTypeSymbol Block { get; }

    public StatementSyntax Loop { get; }

    public string StreamVariable { get; }

    /// <summary>The member holding the blocks.</summary>
    public string ListName { get; }

    /// <summary>
    /// Another block list of the same block type that a model also runs (<c>Model.decoder</c>), or null. The
    /// fix converts one stack per block type, so such a block is not converted: the other stack would be
    /// left calling a hyper-connected block on one stream.
    /// </summary>
    public string? OtherList { get; private set; }

    /// <summary>The list as the loop writes it (<c>h</c>, <c>this.h</c>), so the rewritten code names what the loop named.</summary>
    public ExpressionSyntax ListExpression => Loop switch
    {
        ForEachStatementSyntax loop => loop.Expression,
        _ => ((ElementAccessExpressionSyntax)((MemberAccessExpressionSyntax)Step.Expression).Expression).Expression,
    };

    /// <summary>The loop's single step, <c>block.forward(x, ...)</c> or <c>h[i].forward(x, ...)</c>.</summary>
    public InvocationExpressionSyntax Step { get; }

    /// <summary>
    /// The variable naming the current block when the loop visits every block of the list in order:
    /// a <c>foreach</c>'s variable, or null for a <c>for (var i = 0; i &lt; h.Count; i++)</c> over <c>h[i]</c>.
    /// False when the loop is anything else (a sub-range, a stride, another index such as <c>h[n - 1 - i]</c>,
    /// a <c>foreach</c> that casts each block to another type), so it cannot become a run over the list.
    /// </summary>
    public (bool VisitsAll, string? BlockVariable, string? IndexVariable) Iteration => Loop switch
    {
        ForEachStatementSyntax loop when loop.Type.IsVar || NamesType(loop.Type, Block.Name) => (true, loop.Identifier.ValueText, null),
        ForStatementSyntax loop when CountsUpOver(loop, ListName) is { } index
            && Step.Expression is MemberAccessExpressionSyntax { Expression: ElementAccessExpressionSyntax { ArgumentList.Arguments: [{ Expression: IdentifierNameSyntax element }] } }
            && element.Identifier.ValueText == index => (true, null, index),
        _ => (false, null, null),
    };

    private static bool NamesType(TypeSyntax type, string name) => type switch
    {
        IdentifierNameSyntax id => id.Identifier.ValueText == name,
        QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText == name,
        AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText == name,
        _ => false,
    };

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
                if (symbols.ModuleListElement(memberType) is not INamedTypeSymbol block)
                {
                    continue;
                }

                var name = member is IFieldSymbol { AssociatedSymbol: { } backing } ? backing.Name : member.Name;
                var loops = FindLoops(type, name, cancellationToken).Take(2).ToList();
                if (loops.Count == 0)
                {
                    continue;
                }

                var loop = loops[0];
                if (stacks.TryGetValue(block, out var first))
                {
                    first.OtherList ??= $"{type.Name}.{name}";
                }
                else
                {
                    stacks[block] = new BlockStack(type, block, loop.Statement, loop.Variable, name, loop.Step)
                    {
                        // Two loops over one list (one per branch of an if) are two stacks as well.
                        OtherList = loops.Count > 1 ? $"{type.Name}.{name}, run by a second loop" : null,
                    };
                }
            }
        }

        return stacks;
    }

    private static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
    {
        foreach (var type in ns.GetTypeMembers())
        {
            foreach (var nested in WithNestedTypes(type))
            {
                yield return nested;
            }
        }

        foreach (var child in ns.GetNamespaceMembers())
        {
            foreach (var type in AllTypes(child))
            {
                yield return type;
            }
        }
    }

    /// <summary>A model may be declared inside another class; its blocks are checked where they are declared (MHC0003).</summary>
    private static IEnumerable<INamedTypeSymbol> WithNestedTypes(INamedTypeSymbol type)
    {
        yield return type;
        foreach (var member in type.GetTypeMembers())
        {
            foreach (var nested in WithNestedTypes(member))
            {
                yield return nested;
            }
        }
    }

    /// <summary>Every loop of the owner's <c>forward</c> that runs the list as a stack, in source order.</summary>
    private static IEnumerable<(StatementSyntax Statement, string Variable, InvocationExpressionSyntax Step)> FindLoops(INamedTypeSymbol owner, string listName, CancellationToken cancellationToken)
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
                        if (SingleStep(loop.Statement, receiver => receiver is IdentifierNameSyntax id && id.Identifier.ValueText == loop.Identifier.ValueText) is { } step)
                        {
                            yield return (loop, step.Variable, step.Invocation);
                        }

                        break;
                    case ForStatementSyntax loop:
                        if (SingleStep(loop.Statement, receiver => receiver is ElementAccessExpressionSyntax element && NamesMember(element.Expression, listName)) is { } indexed)
                        {
                            yield return (loop, indexed.Variable, indexed.Invocation);
                        }

                        break;
                }
            }
        }
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
    private static (string Variable, InvocationExpressionSyntax Invocation)? SingleStep(StatementSyntax body, System.Func<ExpressionSyntax, bool> isBlock)
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
                    } invocation,
                } assignment,
            }
            && assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
            && argument.Identifier.ValueText == target.Identifier.ValueText
            && isBlock(access.Expression))
        {
            return (target.Identifier.ValueText, invocation);
        }

        return null;
    }

    /// <summary>The index variable of <c>for (var i = 0; i &lt; list.Count; i++)</c> (or <c>int i</c>, <c>++i</c>, <c>i += 1</c>); null for any other header.</summary>
    private static string? CountsUpOver(ForStatementSyntax loop, string listName)
    {
        if (loop.Declaration is not { Variables: [{ Initializer.Value: LiteralExpressionSyntax { Token.ValueText: "0" } } variable] }
            || loop.Initializers.Count != 0
            || loop.Incrementors is not [var increment])
        {
            return null;
        }

        var index = variable.Identifier.ValueText;
        bool IsIndex(ExpressionSyntax e) => e is IdentifierNameSyntax id && id.Identifier.ValueText == index;
        var counts = loop.Condition is BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LessThanExpression } condition
            && IsIndex(condition.Left)
            && condition.Right is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Count" } count
            && NamesMember(count.Expression, listName);
        var steps = increment switch
        {
            PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PostIncrementExpression } post => IsIndex(post.Operand),
            PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PreIncrementExpression } pre => IsIndex(pre.Operand),
            AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.AddAssignmentExpression, Right: LiteralExpressionSyntax { Token.ValueText: "1" } } add => IsIndex(add.Left),
            _ => false,
        };
        return counts && steps ? index : null;
    }
}
