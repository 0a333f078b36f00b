using System.Collections.Immutable;
using Mhc.Analyzers.Detection.Flow;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection.Sites;

/// <summary>How the connection call takes the place of the residual sum.</summary>
internal enum ResultForm
{
    /// <summary>The sum node is replaced by the call where it stands (<c>x = sum;</c>, <c>var h = sum;</c>, <c>return sum;</c>, an argument).</summary>
    InPlace,

    /// <summary><c>x += f;</c> or <c>x.add_(f);</c>: the statement becomes <c>x = call;</c>.</summary>
    AssignStatement,

    /// <summary><c>T = sum;</c> where T was declared among the branch's statements: the statement becomes <c>var T = call;</c>.</summary>
    DeclareStatement,
}

/// <summary>A local declared by the branch's statements and used after the sum: declared before the call, assigned inside it.</summary>
/// <param name="TypeText">The local's type as the block's file can write it.</param>
/// <param name="Initial">What it holds until the call assigns it: <c>default!</c> for references (never read before), <c>default</c> for values.</param>
internal readonly record struct HoistedLocal(ILocalSymbol Local, string TypeText, string Initial);

/// <summary>How a statement of the branch changes as it moves into the lambda.</summary>
internal enum RewriteKind
{
    /// <summary><c>var o = e;</c> becomes <c>o = e;</c>: o is declared before the call (or is the lambda parameter).</summary>
    AssignDeclared,

    /// <summary><c>var t = e;</c> or <c>t = e;</c> becomes <c>var t2 = e;</c>: a local of the lambda under a new name.</summary>
    DeclareAssigned,

    /// <summary><c>var (a, w) = e;</c> becomes <c>(var a, w) = e;</c>: the elements declared before the call are assigned.</summary>
    Deconstruct,
}

internal sealed record StatementRewrite(RewriteKind Kind, ImmutableHashSet<string>? Hoisted = null);

/// <summary>
/// One residual connection: a stream state plus one or more branches of it, with everything the code fix
/// needs to write <c>hc_name.forward(streams, h => branch)</c> in its place.
/// </summary>
internal sealed class ResidualSite
{
    public ResidualSite(SumFact sum)
    {
        Sum = sum;
    }

    public SumFact Sum { get; }

    /// <summary>The whole residual expression: a sum, a <c>+=</c> assignment or an <c>add</c> call.</summary>
    public SyntaxNode Node => Sum.Syntax;

    public StreamState Consumed => Sum.Consumed!;

    /// <summary>Why this site cannot be converted, or null.</summary>
    public Problem? Problem { get; set; }

    /// <summary>The branch's modules (norms, dropout and scales left out) that name the connection: <c>attn</c>, <c>attn_mlp</c>.</summary>
    public string BaseName { get; set; } = "branch";

    /// <summary>The connection's field name, unique within the block; set once all sites are known.</summary>
    public string ConnectionName { get; set; } = "";

    /// <summary>The statement the sum stands in, or null in an expression-bodied method.</summary>
    public StatementSyntax? Statement { get; set; }

    /// <summary>The statements before the sum that compute the branch, in order: they move into the connection's lambda.</summary>
    public ImmutableArray<StatementSyntax> Moved { get; set; } = ImmutableArray<StatementSyntax>.Empty;

    /// <summary>The expression that holds the consumed state where the call runs: <c>x</c>, <c>input.HiddenStates</c>.</summary>
    public string Argument { get; set; } = "";

    /// <summary>The branch operands (every operand but the identity), in source order.</summary>
    public ImmutableArray<SyntaxNode> BranchOperands { get; set; } = ImmutableArray<SyntaxNode>.Empty;

    /// <summary>Text replacements inside <see cref="Moved"/> and <see cref="BranchOperands"/>: reads of the stream become the lambda parameter, and so on.</summary>
    public ImmutableDictionary<SyntaxNode, string> Renames { get; set; } = ImmutableDictionary<SyntaxNode, string>.Empty;

    /// <summary>Moved declarations that become assignments (hoisted locals, the target merged into the parameter), by statement.</summary>
    public ImmutableDictionary<StatementSyntax, StatementRewrite> RewrittenStatements { get; set; } = ImmutableDictionary<StatementSyntax, StatementRewrite>.Empty;

    public ImmutableArray<HoistedLocal> Hoisted { get; set; } = ImmutableArray<HoistedLocal>.Empty;

    public ResultForm Form { get; set; }

    /// <summary>The variable the call's result is assigned to, for the statement forms.</summary>
    public string? TargetName { get; set; }

    /// <summary>For <see cref="ResultForm.DeclareStatement"/>: the declared type as written (<c>var</c>, <c>Tensor</c>).</summary>
    public string? DeclaredType { get; set; }

    /// <summary>The modules the branch applies first to the stream (<c>ln_1</c>), in order: where the channel width is read.</summary>
    public ImmutableArray<DerivedState> FirstModules { get; set; } = ImmutableArray<DerivedState>.Empty;
}
