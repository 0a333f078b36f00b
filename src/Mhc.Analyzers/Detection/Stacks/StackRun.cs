using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection.Stacks;

/// <summary>How a model runs its blocks one after the other.</summary>
internal enum StackShape
{
    /// <summary>A loop over a list, an array or a dictionary of blocks: Expand goes before it, Reduce after it.</summary>
    Loop,

    /// <summary>A <c>Sequential</c> of blocks called once: its input is expanded and its output reduced where it is called.</summary>
    Sequential,
}

/// <summary>
/// One place where a model runs a stack of hyper-connectable blocks, with the variable that carries the
/// residual stream from block to block and the reads of it that need the streams collapsed first.
/// </summary>
internal sealed class StackRun
{
    public StackRun(INamedTypeSymbol owner, INamedTypeSymbol block, StackShape shape, SyntaxNode node)
    {
        Owner = owner;
        Block = block;
        Shape = shape;
        Node = node;
    }

    /// <summary>The model class whose method runs the stack.</summary>
    public INamedTypeSymbol Owner { get; }

    /// <summary>The block class (the first one, when a loop runs several: they share a stream count).</summary>
    public INamedTypeSymbol Block { get; }

    public StackShape Shape { get; }

    /// <summary>The loop statement, or the Sequential's call.</summary>
    public SyntaxNode Node { get; }

    public StatementSyntax? Loop => Node as StatementSyntax;

    /// <summary>
    /// Where Expand goes before and Reduce after: the loop, or a loop around it whose body is nothing but this loop
    /// (<c>for (var r = 0; r &lt; repeats; r++) { foreach (var b in blocks) x = b.forward(x); }</c>), so that the streams
    /// persist across the repeats instead of being collapsed and widened again each time (MHC1001).
    /// </summary>
    public StatementSyntax? Outer { get; set; }

    /// <summary>The block calls inside the loop (one per block class it runs), or the Sequential call.</summary>
    public ImmutableArray<InvocationExpressionSyntax> Calls { get; set; } = ImmutableArray<InvocationExpressionSyntax>.Empty;

    /// <summary>The variable that carries the stream through the loop (<c>x</c>, <c>hiddenStates</c>).</summary>
    public string StreamVariable { get; set; } = "";

    /// <summary>Reads of the stream variable in the loop body besides the block's input: they see n streams, so they are reduced first.</summary>
    public ImmutableArray<IdentifierNameSyntax> OtherReads { get; set; } = ImmutableArray<IdentifierNameSyntax>.Empty;

    /// <summary>For a Sequential: the expression it is called on (expanded in place).</summary>
    public ExpressionSyntax? SequentialInput { get; set; }

    /// <summary>Why the stack cannot be converted, or null.</summary>
    public Problem? Problem { get; set; }

    /// <summary>
    /// Set when the loop runs every block of one list in order with the body <c>x = block.forward(x, ...)</c>: it
    /// becomes <c>x = HyperStreams.Run(x, list, (block, streams) =&gt; block.forward(streams, ...))</c>.
    /// </summary>
    public RunForm? Run { get; set; }
}

/// <summary>What a loop that becomes <c>HyperStreams.Run</c> is made of.</summary>
/// <param name="List">The list as the loop names it (<c>h</c>, <c>this.layers</c>).</param>
/// <param name="BlockVariable">The foreach variable, or null for a counted for loop over <c>list[i]</c>.</param>
/// <param name="Step">The single block call of the body.</param>
internal sealed record RunForm(ExpressionSyntax List, string? BlockVariable, InvocationExpressionSyntax Step);

/// <summary>Syntax questions about the loops models write.</summary>
internal static class LoopShapes
{
    /// <summary>The index variable of <c>for (var i = 0; i &lt; list.Count; i++)</c> (or <c>int i</c>, <c>++i</c>, <c>i += 1</c>, <c>.Length</c>); null for any other header.</summary>
    public static string? CountsUpOver(ForStatementSyntax loop, ExpressionSyntax list)
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
            && condition.Right is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Count" or "Length" } count
            && SyntaxFactory.AreEquivalent(count.Expression, list);
        var steps = increment switch
        {
            PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PostIncrementExpression } post => IsIndex(post.Operand),
            PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.PreIncrementExpression } pre => IsIndex(pre.Operand),
            AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.AddAssignmentExpression, Right: LiteralExpressionSyntax { Token.ValueText: "1" } } add => IsIndex(add.Left),
            _ => false,
        };
        return counts && steps ? index : null;
    }

    /// <summary>The variables a loop header declares: the foreach variable (or its deconstruction), the for loop's counters.</summary>
    public static ImmutableArray<string> IterationVariables(StatementSyntax loop) => loop switch
    {
        ForEachStatementSyntax each => ImmutableArray.Create(each.Identifier.ValueText),
        ForEachVariableStatementSyntax each => each.Variable.DescendantNodesAndSelf().OfType<SingleVariableDesignationSyntax>().Select(d => d.Identifier.ValueText).ToImmutableArray(),
        ForStatementSyntax counted => counted.Declaration?.Variables.Select(v => v.Identifier.ValueText).ToImmutableArray() ?? ImmutableArray<string>.Empty,
        _ => ImmutableArray<string>.Empty,
    };

    public static StatementSyntax Body(StatementSyntax loop) => loop switch
    {
        CommonForEachStatementSyntax each => each.Statement,
        ForStatementSyntax counted => counted.Statement,
        WhileStatementSyntax @while => @while.Statement,
        DoStatementSyntax @do => @do.Statement,
        _ => loop,
    };
}
