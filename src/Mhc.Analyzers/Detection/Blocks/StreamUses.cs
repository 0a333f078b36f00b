using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Detection.Flow;
using Mhc.Analyzers.Detection.Sites;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Detection.Blocks;

/// <summary>How the block's final stream state leaves <c>forward</c>, so the model's loop can find it in the result.</summary>
internal sealed record StreamExit(StreamExitKind Kind, string? Member, int Index)
{
    public static readonly StreamExit Unknown = new(StreamExitKind.Unknown, null, -1);
    public static readonly StreamExit Direct = new(StreamExitKind.Direct, null, -1);
}

internal enum StreamExitKind
{
    Unknown,

    /// <summary><c>return x;</c></summary>
    Direct,

    /// <summary><c>return new Output(hidden, cache);</c>: the output's member (its constructor parameter's or initializer's name).</summary>
    Member,

    /// <summary><c>return (x, cache);</c>: a tuple element.</summary>
    TupleElement,
}

/// <summary>
/// Every read of the block's stream states, classified: the identity path of a connection, inside a branch (it
/// becomes the lambda parameter), an alias (<c>var residual = x;</c>), the block's output, or a use that would
/// see n streams after conversion (reported). Also which alias variables disappear with the conversion.
/// </summary>
internal sealed class StreamUses
{
    private readonly BlockAnalysis _block;
    private readonly List<ResidualSite> _sites;
    private readonly ILookup<SyntaxNode, StateRead> _readsBySyntax;
    private readonly CancellationToken _ct;
    private readonly HashSet<StateRead> _aliasSources = new();
    private readonly HashSet<ILocalSymbol> _kept = new(SymbolEqualityComparer.Default);
    private readonly Dictionary<ILocalSymbol, List<StatementSyntax>> _aliases = new(SymbolEqualityComparer.Default);
    private readonly HashSet<StateRead> _substituted = new();
    private HashSet<ILocalSymbol> _droppable = new(SymbolEqualityComparer.Default);

    public StreamUses(BlockAnalysis block, List<ResidualSite> sites, ILookup<SyntaxNode, StateRead> readsBySyntax, CancellationToken ct)
    {
        _block = block;
        _sites = sites;
        _readsBySyntax = readsBySyntax;
        _ct = ct;
    }

    /// <summary>A use of the stream that stops the block from converting, or null.</summary>
    public Problem? Problem { get; private set; }

    public StreamExit Exit { get; private set; } = StreamExit.Unknown;

    public ImmutableArray<StatementSyntax> DroppedAliases
        => _aliases.Where(a => _droppable.Contains(a.Key) && !_kept.Contains(a.Key)).SelectMany(a => a.Value).Distinct().OrderBy(s => s.SpanStart).ToImmutableArray();

    public bool IsDroppable(ILocalSymbol local) => _droppable.Contains(local) && !_kept.Contains(local);

    /// <summary>An alias the conversion still needs (it holds the streams a connection starts from): its statements stay.</summary>
    public void Keep(ILocalSymbol local) => _kept.Add(local);

    public void Classify()
    {
        var stream = _block.Stream;
        var produced = _sites.Where(s => s.Consumed.Origin == stream && s.Sum.Produced is not null).Select(s => s.Sum.Produced!).ToList();

        // A connection under an if without else leaves a joined state behind it (StreamFlow): its producer is the
        // connection, its version newer, and it is the stream's latest state when nothing follows.
        var producers = new HashSet<object>(produced.Select(s => s.Producer!));
        var final = produced.Concat(_block.Facts.Reads.Select(r => r.State).Where(s => s.Origin == stream && s.Producer is not null && producers.Contains(s.Producer)))
            .OrderBy(s => s.Version).LastOrDefault();
        FindAliases(stream);
        var exits = new HashSet<IReturnOperation>();

        // Sums that are returned directly (return x + f(x);) leave the block themselves.
        foreach (var site in _sites.Where(s => s.Sum.Produced == final && final is not null))
        {
            if (ExitPath(site.Sum.Operation) is { } exit)
            {
                exits.Add(exit.Return);
                Exit = exit.Exit;
            }
        }

        var convertibleConsumers = _sites.Where(s => s.Sum.Kind == SumKind.Residual).ToLookup(s => s.Consumed);
        foreach (var read in _block.Facts.Reads)
        {
            _ct.ThrowIfCancellationRequested();
            if (read.State.Origin != stream)
            {
                continue;
            }

            var site = convertibleConsumers[read.State].FirstOrDefault();
            if (site is not null && UsedBySite(site, read))
            {
                _substituted.Add(read);
                continue;
            }

            if (_aliasSources.Contains(read) || IsHarmless(read.Reference))
            {
                continue;
            }

            if (ConsumedByUnconvertibleSum(read.State))
            {
                // That sum is reported already; the block does not convert.
                continue;
            }

            if (site is not null && read.Reference.Syntax.SpanStart < (site.Statement ?? site.Node).SpanStart)
            {
                site.Problem ??= Reasons.BranchLayout.With(
                    $"the branch starts at line {SyntaxQueries.Line(read.Reference.Syntax)}, outside the statement list of the sum (line {SyntaxQueries.Line(site.Node)})");
                continue;
            }

            if (ExitPath(read.Reference) is { } path)
            {
                if (read.State == final)
                {
                    exits.Add(path.Return);
                    Exit = path.Exit;
                    continue;
                }

                Problem ??= Reasons.StreamEscapes.With(
                    $"line {SyntaxQueries.Line(read.Reference.Syntax)} returns '{read.Reference.Syntax}' before its last residual connection; the block's output must be its residual stream after the last one");
                continue;
            }

            if (NormOfResidualSum(read) is { } producer)
            {
                producer.Problem ??= Reasons.PostNorm.With(
                    $"post-norm: the sum is normalized at line {SyntaxQueries.Line(read.Reference.Syntax)} before it flows on, so the norm would see n streams and the residual path would not be an identity");
                continue;
            }

            Problem ??= Reasons.StreamEscapes.With(
                $"the residual stream '{read.Reference.Syntax}' is also used at line {SyntaxQueries.Line(read.Reference.Syntax)} ('{Excerpt(read.Reference.Syntax)}'), where it would hold n streams");
        }

        if (final is not null && Problem is null)
        {
            foreach (var (@return, _) in _block.Facts.Returns)
            {
                if (!exits.Contains(@return))
                {
                    Problem = Reasons.StreamEscapes.With(
                        $"the block returns at line {SyntaxQueries.Line(@return.Syntax)} something other than its residual stream after the last connection ('{Excerpt(@return.Syntax)}')");
                    break;
                }
            }
        }

        ComputeDroppable();
    }

    private bool ConsumedByUnconvertibleSum(StreamState state)
        => _sites.Any(s => s.Sum.Kind != SumKind.Residual && s.Sum.Consumed == state);

    /// <summary>The read is the site's identity operand, or inside its branch (where it becomes the lambda parameter).</summary>
    private static bool UsedBySite(ResidualSite site, StateRead read)
    {
        var identity = ModuleCalls.Unwrap(site.Sum.Operands[site.Sum.IdentityIndex].Operand);
        if (identity == read.Reference || identity?.Syntax == read.Reference.Syntax)
        {
            return true;
        }

        var syntax = read.Reference.Syntax;
        return SyntaxQueries.Within(syntax, site.Moved) || SyntaxQueries.Within(syntax, site.Sum.Branches.Select(b => b.Operand.Syntax));
    }

    /// <summary><c>x.device</c>, <c>x.dtype</c>, <c>x.shape[0]</c>, <c>x.size(0)</c>: the same on n streams.</summary>
    private static bool IsHarmless(IOperation reference)
    {
        switch (reference.Parent)
        {
            case IPropertyReferenceOperation property when TensorMetadata.IsSameOnStreams(property.Property.Name):
                return true;
            case IPropertyReferenceOperation { Property.Name: "shape" } shape:
                return shape.Parent is IArrayElementReferenceOperation { Indices: [ILiteralOperation { ConstantValue: { HasValue: true, Value: 0 or 0L } }] };
            case IInvocationOperation { TargetMethod.Name: "size", Arguments: [{ Value: var index }] }:
                return ModuleCalls.Unwrap(index) is ILiteralOperation { ConstantValue: { HasValue: true, Value: 0 or 0L } };
            case IInvocationOperation { TargetMethod.Name: "dim" or "IntShape" } invocation:
                return invocation.TargetMethod.Name == "IntShape"
                    ? invocation.Parent is IArrayElementReferenceOperation { Indices: [ILiteralOperation { ConstantValue: { HasValue: true, Value: 0 } }] }
                    : false;
            default:
                return false;
        }
    }

    /// <summary>
    /// The return statement the value leaves by, with where it sits in the returned value: directly
    /// (<c>return x;</c>, <c>return x.MoveToOuterDisposeScope();</c>), as a record or tuple member, or through
    /// a local that is only returned (<c>var output = new Output(x, cache); return output;</c>).
    /// </summary>
    private (IReturnOperation Return, StreamExit Exit)? ExitPath(IOperation value)
    {
        var exit = StreamExit.Direct;
        for (var current = value; current.Parent is { } parent; current = parent)
        {
            switch (parent)
            {
                case IConversionOperation or IParenthesizedOperation:
                    continue;
                case IInvocationOperation { TargetMethod.Name: "MoveToOuterDisposeScope" or "DetachFromDisposeScope" or "alias" } own when own.Instance == current:
                    continue;
                case IArgumentOperation { Parent: IInvocationOperation { TargetMethod.Name: "MoveToOuter", Arguments.Length: 1 } }:
                case IInvocationOperation { TargetMethod.Name: "MoveToOuter", Arguments.Length: 1 }:
                    // scope.MoveToOuter(x): the same tensor, owned by the caller's scope.
                    continue;
                case IArgumentOperation argument when argument.Parent is IObjectCreationOperation:
                    exit = new StreamExit(StreamExitKind.Member, argument.Parameter?.Name, -1);
                    current = argument;
                    continue;
                case IObjectCreationOperation or IObjectOrCollectionInitializerOperation:
                    continue;
                case ISimpleAssignmentOperation { Target: IPropertyReferenceOperation or IFieldReferenceOperation } init when init.Parent is IObjectOrCollectionInitializerOperation && init.Value == current:
                    exit = new StreamExit(StreamExitKind.Member, ((IMemberReferenceOperation)init.Target).Member.Name, -1);
                    continue;
                case ITupleOperation tuple:
                    var index = tuple.Elements.IndexOf(current);
                    exit = new StreamExit(StreamExitKind.TupleElement, TupleElementName(index), index);
                    continue;
                case IReturnOperation @return:
                    return (@return, exit);
                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation declarator } when exit.Kind != StreamExitKind.Direct:
                    return ReturnedLocal(declarator.Symbol, exit);
                default:
                    return null;
            }
        }

        return null;
    }

    /// <summary>The name <c>forward</c>'s return type gives a tuple element (<c>Hidden</c> of <c>(Tensor Hidden, Tensor? Cache)</c>), if any.</summary>
    private string? TupleElementName(int index)
        => _block.Model.GetDeclaredSymbol(_block.Forward, _ct)?.ReturnType is INamedTypeSymbol { IsTupleType: true } tuple
           && index >= 0 && index < tuple.TupleElements.Length
           && !tuple.TupleElements[index].IsImplicitlyDeclared
            ? tuple.TupleElements[index].Name
            : null;

    /// <summary>A local holding the output record: it leaves the block if every use of it is a return.</summary>
    private (IReturnOperation Return, StreamExit Exit)? ReturnedLocal(ILocalSymbol local, StreamExit exit)
    {
        IReturnOperation? returned = null;
        foreach (var id in _block.Forward.DescendantNodes().OfType<IdentifierNameSyntax>().Where(i => i.Identifier.ValueText == local.Name))
        {
            if (!SymbolEqualityComparer.Default.Equals(_block.Model.GetSymbolInfo(id, _ct).Symbol, local))
            {
                continue;
            }

            if (_block.Model.GetOperation(id, _ct) is not { } reference || ExitPathOfLocal(reference) is not { } @return)
            {
                return null;
            }

            returned = @return;
        }

        return returned is null ? null : (returned, exit);
    }

    private static IReturnOperation? ExitPathOfLocal(IOperation reference)
    {
        for (var current = reference; current.Parent is { } parent; current = parent)
        {
            if (parent is IReturnOperation @return)
            {
                return @return;
            }

            if (parent is not (IConversionOperation or IParenthesizedOperation))
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The site whose sum a norm normalizes outside any branch (<c>x = x + f(x); x = ln(x);</c>): post-norm.</summary>
    private ResidualSite? NormOfResidualSum(StateRead read)
    {
        if (read.State.Producer is not SumFact producer
            || read.Reference.Parent is not IArgumentOperation { Parent: IInvocationOperation invocation } argument
            || invocation.Arguments.IndexOf(argument) != 0
            || !(invocation.Instance is not null
                ? Names.IsNorm(ModuleCalls.ReceiverMember(invocation), invocation.Instance.Type)
                : Names.IsNormFunction(invocation.TargetMethod)))
        {
            return null;
        }

        return _sites.FirstOrDefault(s => s.Sum == producer);
    }

    /// <summary>Alias statements of the stream's states, by the local they assign.</summary>
    private void FindAliases(StreamOrigin? stream)
    {
        // Statements of a list only: an alias that is the body of an if cannot disappear.
        foreach (var statement in _block.Forward.DescendantNodes().OfType<StatementSyntax>().Where(s => s.Parent is BlockSyntax))
        {
            if (SyntaxQueries.SingleAssignment(statement) is not { } assignment)
            {
                continue;
            }

            var read = _readsBySyntax[SyntaxQueries.AliasedValue(assignment.Value)].FirstOrDefault(r => r.State.Origin == stream);
            if (read.Reference is null)
            {
                continue;
            }

            _aliasSources.Add(read);
            var target = assignment.Declares
                ? _block.Model.GetDeclaredSymbol(((LocalDeclarationStatementSyntax)statement).Declaration.Variables[0], _ct)
                : _block.Model.GetSymbolInfo(((AssignmentExpressionSyntax)((ExpressionStatementSyntax)statement).Expression).Left, _ct).Symbol;
            if (target is ILocalSymbol local)
            {
                if (!_aliases.TryGetValue(local, out var list))
                {
                    _aliases[local] = list = new List<StatementSyntax>();
                }

                list.Add(statement);
            }
        }
    }

    /// <summary>
    /// An alias disappears when every write to it is an alias statement and every read of it is a connection's
    /// identity operand, inside a branch, or the source of another alias that disappears.
    /// </summary>
    private void ComputeDroppable()
    {
        var candidates = new HashSet<ILocalSymbol>(_aliases.Keys, SymbolEqualityComparer.Default);
        bool changed;
        do
        {
            changed = false;
            foreach (var local in candidates.ToList())
            {
                if (!AllUsesDisappear(local, candidates))
                {
                    candidates.Remove(local);
                    changed = true;
                }
            }
        }
        while (changed);

        _droppable = candidates;
    }

    private bool AllUsesDisappear(ILocalSymbol local, HashSet<ILocalSymbol> candidates)
    {
        var statements = _aliases[local];
        foreach (var id in _block.Forward.DescendantNodes().OfType<IdentifierNameSyntax>().Where(i => i.Identifier.ValueText == local.Name))
        {
            if (!SymbolEqualityComparer.Default.Equals(_block.Model.GetSymbolInfo(id, _ct).Symbol, local))
            {
                continue;
            }

            if (IsWrite(id))
            {
                if (!statements.Any(s => s.Span.Contains(id.Span)))
                {
                    return false;
                }

                continue;
            }

            var reads = _readsBySyntax[id].ToList();
            if (reads.Count == 0)
            {
                return false;
            }

            foreach (var read in reads)
            {
                if (_substituted.Contains(read))
                {
                    continue;
                }

                if (_aliasSources.Contains(read) && AliasTarget(id) is { } next && candidates.Contains(next))
                {
                    continue;
                }

                return false;
            }
        }

        return true;
    }

    private ILocalSymbol? AliasTarget(IdentifierNameSyntax source)
        => _aliases.FirstOrDefault(a => a.Value.Any(s => s.Span.Contains(source.Span))).Key;

    private static bool IsWrite(IdentifierNameSyntax id)
        => id.Parent is AssignmentExpressionSyntax assignment && assignment.Left == id
           || id.Parent is ArgumentSyntax { RefKindKeyword.RawKind: (int)SyntaxKind.OutKeyword or (int)SyntaxKind.RefKeyword }
           || id.Parent is PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax;

    private static string Excerpt(SyntaxNode node)
    {
        var statement = node.FirstAncestorOrSelf<StatementSyntax>() ?? node;
        var text = statement.ToString().Replace("\r", "").Replace("\n", " ");
        return text.Length <= 80 ? text : text.Substring(0, 77) + "...";
    }
}
