using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection;

/// <summary>How the value of a residual sum is consumed, which decides how it is rewritten.</summary>
internal enum SiteShape
{
    /// <summary>The sum is a value that flows on as the new residual stream (assignment, declaration, return).</summary>
    Value,

    /// <summary><c>x += F(x);</c></summary>
    CompoundAssignment,

    /// <summary><c>x.add_(F(x));</c> as a statement.</summary>
    InPlace,

    /// <summary><c>ln(x + F(x))</c>: the sum goes straight into another module.</summary>
    PostNorm,

    /// <summary>The sum is an operand of a larger expression.</summary>
    Nested,
}

/// <summary>One residual connection: the identity path <see cref="Identity"/> plus one or more branches of it.</summary>
internal sealed class ResidualSite
{
    public ResidualSite(
        SyntaxNode node,
        ISymbol identity,
        ImmutableArray<ExpressionSyntax> branches,
        ImmutableArray<LocalDeclarationStatementSyntax> movedLocals,
        string baseName,
        SiteShape shape)
    {
        Node = node;
        Identity = identity;
        Branches = branches;
        MovedLocals = movedLocals;
        BaseName = baseName;
        Shape = shape;
    }

    /// <summary>The whole residual expression: a sum, a <c>+=</c> assignment or an <c>add</c> call.</summary>
    public SyntaxNode Node { get; }

    /// <summary>The local or parameter carried by the identity path.</summary>
    public ISymbol Identity { get; }

    /// <summary>The branches added to the identity: one, or several for a parallel block.</summary>
    public ImmutableArray<ExpressionSyntax> Branches { get; }

    /// <summary>Locals computed from the identity that only this site reads (e.g. <c>var h = ln(x)</c>); they move into the branch.</summary>
    public ImmutableArray<LocalDeclarationStatementSyntax> MovedLocals { get; }

    /// <summary>The branch's module names, e.g. <c>attn</c>; the connection is named <c>hc_</c> plus a unique form of it.</summary>
    public string BaseName { get; }

    public SiteShape Shape { get; }

    /// <summary>The connection's field name, unique within the block; set once all sites are known.</summary>
    public string ConnectionName { get; set; } = "";

    /// <summary>Why this site cannot be converted, or null.</summary>
    public string? Problem { get; set; }
}
