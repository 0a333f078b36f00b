using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Detection.Flow;

/// <summary>How a sum is written, which decides how its rewrite assigns the result.</summary>
internal enum SumSpelling
{
    /// <summary><c>a + b</c>, possibly a chain <c>a + b + c</c>.</summary>
    Operator,

    /// <summary><c>a += b</c>.</summary>
    Compound,

    /// <summary><c>a.add(b)</c>.</summary>
    AddMethod,

    /// <summary><c>a.add_(b)</c>: changes <c>a</c> in place.</summary>
    AddInPlace,

    /// <summary><c>torch.add(a, b)</c>.</summary>
    TorchAdd,
}

/// <summary>What a sum turned out to be once its operands' values were known.</summary>
internal enum SumKind
{
    /// <summary>Not a residual connection: no identity operand, or no branch of it.</summary>
    None,

    /// <summary>A residual connection: a stream state plus one or more branches of it.</summary>
    Residual,

    /// <summary>The identity operand is a norm of the previous residual sum: post-norm (<c>x = ln(x); x + f(x)</c>).</summary>
    PostNormIdentity,

    /// <summary>The identity operand is a module's output on the stream, not the stream (<c>y = cv1(x); m(y) + y</c>).</summary>
    InnerIdentity,

    /// <summary>A branch plus a transformed shortcut of the same state (<c>f(x) + downsample(x)</c>).</summary>
    ProjectionShortcut,

    /// <summary>
    /// <c>norm(hidden + input)</c> with both from the block's inputs: a post-norm residual connection whose branch was
    /// computed by another module (BERT's output layers).
    /// </summary>
    PostNormInputs,

    /// <summary>
    /// <c>x + f(x)</c> on a variable that no longer holds a stream state (changed on the way: <c>x = x.masked_fill(...)</c>),
    /// so it looks like a residual connection but its identity path is not the block's stream.
    /// </summary>
    Unresolved,
}

/// <summary>One tensor sum in a <c>forward</c> method, with its operands' values.</summary>
internal sealed class SumFact
{
    public SumFact(IOperation operation, SumSpelling spelling, ImmutableArray<(IOperation Operand, FlowValue Value)> operands)
    {
        Operation = operation;
        Spelling = spelling;
        Operands = operands;
    }

    /// <summary>The whole sum: the top of an operator chain, the compound assignment, or the add call.</summary>
    public IOperation Operation { get; }

    public SyntaxNode Syntax => Operation.Syntax;

    public SumSpelling Spelling { get; }

    /// <summary>The operands in source order (for <c>x += f</c>: the target, then f; for <c>x.add_(f)</c>: the receiver, then f).</summary>
    public ImmutableArray<(IOperation Operand, FlowValue Value)> Operands { get; }

    public SumKind Kind { get; set; }

    /// <summary>The operand on the identity path (index into <see cref="Operands"/>), for every kind but None.</summary>
    public int IdentityIndex { get; set; } = -1;

    /// <summary>The stream state the sum adds its branches to (for a shortcut: the state both paths start from).</summary>
    public StreamState? Consumed { get; set; }

    /// <summary>The derived identity or shortcut value, for those kinds.</summary>
    public DerivedState? Derived { get; set; }

    /// <summary>The stream state the sum produces (residual and post-norm kinds).</summary>
    public StreamState? Produced { get; set; }

    /// <summary>The variable the sum writes itself (<c>x</c> of <c>x += f</c> and <c>x.add_(f)</c>), or null.</summary>
    public ISymbol? InPlaceTarget { get; set; }

    public IEnumerable<(IOperation Operand, FlowValue Value)> Branches
    {
        get
        {
            for (var i = 0; i < Operands.Length; i++)
            {
                if (i != IdentityIndex)
                {
                    yield return Operands[i];
                }
            }
        }
    }
}

/// <summary>A read of a variable or input that holds exactly a stream state at that point.</summary>
internal readonly record struct StateRead(IOperation Reference, StreamState State);

/// <summary>A key for what the analysis follows: a local or parameter symbol, or a tensor member of a parameter.</summary>
internal readonly record struct MemberKey(IParameterSymbol Parameter, ISymbol Member);

/// <summary>Everything the stream analysis of one <c>forward</c> method found.</summary>
internal sealed class FlowFacts
{
    public FlowFacts(
        IOperation body,
        ImmutableArray<StreamOrigin> origins,
        ImmutableArray<SumFact> sums,
        ImmutableArray<StateRead> reads,
        ImmutableArray<(IReturnOperation Return, FlowValue Value)> returns,
        ImmutableDictionary<StatementSyntax, ImmutableDictionary<object, StreamState?>> statesBefore,
        ImmutableArray<DerivedState> derived)
    {
        Body = body;
        Origins = origins;
        Sums = sums;
        Reads = reads;
        Returns = returns;
        StatesBefore = statesBefore;
        Derived = derived;
    }

    public IOperation Body { get; }

    public ImmutableArray<StreamOrigin> Origins { get; }

    public ImmutableArray<SumFact> Sums { get; }

    public ImmutableArray<StateRead> Reads { get; }

    public ImmutableArray<(IReturnOperation Return, FlowValue Value)> Returns { get; }

    /// <summary>
    /// For each statement, the variables (symbols or <see cref="MemberKey"/>s) assigned before it runs (first visit)
    /// with the stream state each holds, null for any other value; an input absent from it still holds its entry
    /// state. Where a connection call can take its streams from.
    /// </summary>
    public ImmutableDictionary<StatementSyntax, ImmutableDictionary<object, StreamState?>> StatesBefore { get; }

    /// <summary>Every module applied directly to a stream state, in the order they run.</summary>
    public ImmutableArray<DerivedState> Derived { get; }
}
