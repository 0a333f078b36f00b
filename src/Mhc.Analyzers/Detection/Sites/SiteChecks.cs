using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Detection.Blocks;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection.Sites;

/// <summary>What stops one residual connection from converting, whatever the rest of the block does.</summary>
internal static class SiteChecks
{
    /// <param name="connectionSyntax">Every residual sum of the block and the statements that compute its branches.</param>
    public static Problem? Check(ResidualSite site, MethodDeclarationSyntax forward, ISet<SyntaxNode> connectionSyntax, SemanticModel model, TorchSymbols symbols, ModuleWidths widths, CancellationToken ct)
        => InLoop(site, forward)
           ?? Conditional(site, forward, connectionSyntax)
           ?? PostNorm(site, model, symbols, ct)
           ?? ChannelFirst(site, model, symbols, widths, ct)
           ?? Layout(site);

    private static Problem? InLoop(ResidualSite site, MethodDeclarationSyntax forward)
        => site.Node.Ancestors().TakeWhile(a => a != forward).Any(a => a is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax)
            ? Reasons.InLoop.With("it is inside a loop, and every iteration would need a connection of its own")
            : null;

    /// <summary>The sum runs only on some paths: under an if, in one arm of <c>?:</c>, a switch, or the right of <c>&amp;&amp;</c>/<c>??</c>.</summary>
    private static Problem? Conditional(ResidualSite site, MethodDeclarationSyntax forward, ISet<SyntaxNode> connectionSyntax)
    {
        SyntaxNode child = site.Node;
        foreach (var ancestor in site.Node.Ancestors().TakeWhile(a => a != forward))
        {
            var condition = ancestor switch
            {
                IfStatementSyntax @if when child != @if.Condition && !Skippable(@if, child, site, connectionSyntax)
                    => child == @if.Else ? $"!({@if.Condition})" : @if.Condition.ToString(),
                ConditionalExpressionSyntax conditional when child != conditional.Condition => conditional.Condition.ToString(),
                SwitchSectionSyntax or SwitchExpressionArmSyntax => "a switch case",
                BinaryExpressionSyntax logical when child == logical.Right && logical.Kind() is SyntaxKind.LogicalAndExpression or SyntaxKind.LogicalOrExpression or SyntaxKind.CoalesceExpression => logical.Left.ToString(),
                ConditionalAccessExpressionSyntax access when child == access.WhenNotNull => access.Expression + " is not null",
                _ => null,
            };
            if (condition is not null)
            {
                return Reasons.Conditional.With($"the residual exists only when '{condition}', and a connection would change the path without it");
            }

            child = ancestor;
        }

        return null;
    }

    /// <summary>
    /// <c>if (cross_attn != null) x = x + cross_attn(ln(x), xa);</c>: an if without else whose body only runs
    /// residual connections on the stream variable (their sums, and the statements that compute their
    /// branches), besides statements that do not touch the stream. Skipping the connection leaves the streams as
    /// they are, which is what skipping the residual did to x, so the connection can live under the same condition.
    /// </summary>
    private static bool Skippable(IfStatementSyntax @if, SyntaxNode body, ResidualSite site, ISet<SyntaxNode> connectionSyntax)
    {
        if (@if.Else is not null || body != @if.Statement || IdentityName(site) is not { } stream)
        {
            return false;
        }

        var statements = body is BlockSyntax block ? block.Statements.ToArray() : new[] { (StatementSyntax)body };
        return statements.All(s => connectionSyntax.Contains(s)
            || s is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: IdentifierNameSyntax target } assignment }
               && target.Identifier.ValueText == stream
               && (connectionSyntax.Contains(assignment) || connectionSyntax.Contains(assignment.Right))
            || !Mentions(s, stream));
    }

    /// <summary>A statement that does not touch the stream variable (<c>LastCrossWeights = res.Item2;</c>) runs as it did.</summary>
    private static bool Mentions(StatementSyntax statement, string stream)
        => statement.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == stream);

    /// <summary>The variable a sum adds to and assigns back: <c>x</c> of <c>x = x + f(x)</c> and <c>x += f(x)</c>.</summary>
    private static string? IdentityName(ResidualSite site)
    {
        var identity = site.Sum.Operands[site.Sum.IdentityIndex].Operand.Syntax;
        return identity is IdentifierNameSyntax name
               && site.Node.FirstAncestorOrSelf<ExpressionStatementSyntax>() is { Expression: AssignmentExpressionSyntax { Left: IdentifierNameSyntax target } }
               && target.Identifier.ValueText == name.Identifier.ValueText
            ? name.Identifier.ValueText
            : null;
    }

    /// <summary><c>ln(x + f(x))</c> or <c>functional.layer_norm(x + f(x), shape)</c>: the sum goes straight into a module or a norm.</summary>
    private static Problem? PostNorm(ResidualSite site, SemanticModel model, TorchSymbols symbols, CancellationToken ct)
    {
        if (SyntaxQueries.Outermost(site.Node).Parent is not ArgumentSyntax { Parent.Parent: InvocationExpressionSyntax invocation } argument)
        {
            return null;
        }

        if (ModuleCalls.ModuleType(invocation, model, symbols, ct) is { } module)
        {
            return Reasons.PostNorm.With($"post-norm: the sum goes straight into '{ModuleCalls.Receiver(invocation)}' ({module.Name}), which would see n streams, and each stream's residual path would not be an identity");
        }

        return invocation.ArgumentList.Arguments.IndexOf(argument) == 0 && Names.IsNormFunction(model.GetSymbolInfo(invocation, ct).Symbol as IMethodSymbol)
            ? Reasons.PostNorm.With($"post-norm: the sum goes straight into '{invocation.Expression}', which would normalize across the n streams, and each stream's residual path would not be an identity")
            : null;
    }

    private static Problem? ChannelFirst(ResidualSite site, SemanticModel model, TorchSymbols symbols, ModuleWidths widths, CancellationToken ct)
    {
        var nodes = site.Sum.Branches.Select(b => b.Operand.Syntax).Concat(site.Moved);
        foreach (var invocation in nodes.SelectMany(n => n.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>()))
        {
            if (ModuleCalls.ModuleType(invocation, model, symbols, ct) is not { } module)
            {
                continue;
            }

            // The module's type, what a project's own module holds, or what a Sequential is built from.
            var part = ModuleKinds.ChannelFirstPart(module)
                ?? (model.GetSymbolInfo(ModuleCalls.Receiver(invocation)!, ct).Symbol is { Kind: SymbolKind.Field or SymbolKind.Property } member ? widths.ChannelFirstConstruction(member) : null);
            if (part is not null)
            {
                return Reasons.ChannelFirst.With(
                    $"channel-first convolutional block: '{part}' keeps channels on axis 1, but streams are stacked just before the last (channel) axis");
            }
        }

        return null;
    }

    /// <summary>
    /// Directives a statement would carry into the lambda. The first statement's leading lines stay outside, above
    /// the connection, so a <c>#region</c> there keeps its place; any other directive would move (or unbalance) with it.
    /// </summary>
    private static System.Collections.Generic.IEnumerable<SyntaxTrivia> Directives(StatementSyntax statement, bool first)
    {
        var leading = statement.GetLeadingTrivia().Where(t => t.IsDirective);
        var inside = statement.DescendantTrivia().Where(t => t.IsDirective && !statement.GetLeadingTrivia().Contains(t));
        return inside.Concat(first ? leading.Where(t => !t.IsKind(SyntaxKind.RegionDirectiveTrivia) && !t.IsKind(SyntaxKind.EndRegionDirectiveTrivia)) : leading);
    }

    /// <summary>The branch's statements must be movable into a lambda as they are.</summary>
    private static Problem? Layout(ResidualSite site)
    {
        foreach (var statement in site.Moved)
        {
            var why = SyntaxQueries.EscapingControlFlow(statement) is { } escape ? $"'{escape.ToString().Trim()}' leaves the branch"
                : statement is LocalDeclarationStatementSyntax { UsingKeyword.RawKind: not 0 } ? "a using declaration would end with the branch"
                : statement is LocalFunctionStatementSyntax ? "a local function is declared among its statements"
                : Directives(statement, first: statement == site.Moved[0]).Any() ? "a preprocessor directive sits among its statements"
                : null;
            if (why is not null)
            {
                return Reasons.BranchLayout.With($"the branch's statements cannot move into the connection: at line {SyntaxQueries.Line(statement)}, {why}");
            }
        }

        return null;
    }
}
