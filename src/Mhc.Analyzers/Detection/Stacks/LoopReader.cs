using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Detection.Blocks;
using Mhc.Analyzers.Detection.Sites;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection.Stacks;

/// <summary>
/// Reads one loop that runs blocks: which variable carries the stream from one block to the next (it is
/// passed as the block's stream input, directly or inside an input record, and assigned from its output,
/// directly or out of an output record or tuple), what else the loop does with it, and whether the loop is
/// simple enough to become <c>HyperStreams.Run</c>.
/// </summary>
internal sealed class LoopReader
{
    private readonly StatementSyntax _loop;
    private readonly List<(InvocationExpressionSyntax Call, INamedTypeSymbol Block)> _calls;
    private readonly INamedTypeSymbol _owner;
    private readonly SemanticModel _model;
    private readonly IReadOnlyDictionary<INamedTypeSymbol, BlockAnalysis> _blocks;
    private readonly TorchSymbols _symbols;
    private readonly CancellationToken _ct;
    private readonly List<SyntaxNode> _streamInputs = new();
    private readonly List<SyntaxNode> _streamOutputs = new();

    public LoopReader(
        StatementSyntax loop,
        List<(InvocationExpressionSyntax Call, INamedTypeSymbol Block)> calls,
        INamedTypeSymbol owner,
        SemanticModel model,
        IReadOnlyDictionary<INamedTypeSymbol, BlockAnalysis> blocks,
        TorchSymbols symbols,
        CancellationToken ct)
    {
        _loop = loop;
        _calls = calls;
        _owner = owner;
        _model = model;
        _blocks = blocks;
        _symbols = symbols;
        _ct = ct;
    }

    public StackRun Read()
    {
        var run = new StackRun(_owner, _calls[0].Block, StackShape.Loop, _loop) { Calls = _calls.Select(c => c.Call).ToImmutableArray() };
        HashSet<ISymbol>? carried = null;
        foreach (var (call, block) in _calls)
        {
            var both = new HashSet<ISymbol>(Inputs(call, _blocks[block.OriginalDefinition]), SymbolEqualityComparer.Default);
            both.IntersectWith(Outputs(call, _blocks[block.OriginalDefinition]));
            if (carried is null)
            {
                carried = both;
            }
            else
            {
                carried.IntersectWith(both);
            }
        }

        var line = SyntaxQueries.Line(_loop);
        if (carried is not { Count: 1 })
        {
            run.Problem = Reasons.Stack.With(
                $"the loop at line {line} does not pass one variable from block to block (as the block's input and from its output), so there is no stream to widen");
            return run;
        }

        var stream = carried.Single();
        run.StreamVariable = stream.Name;
        if (stream.DeclaringSyntaxReferences.Any(r => _loop.Span.Contains(r.Span)))
        {
            run.Problem = Reasons.Stack.With($"'{stream.Name}' is declared inside the loop at line {line}, so it cannot carry the stream from one iteration to the next");
            return run;
        }

        var type = stream switch
        {
            ILocalSymbol local => local.Type,
            IParameterSymbol parameter => parameter.Type,
            _ => null,
        };
        var tensor = type is { Name: "Tensor", ContainingType.Name: "torch" };
        var member = tensor ? null : TupleElement(type, _blocks[_calls[0].Block.OriginalDefinition]);
        if (!tensor && member is null)
        {
            run.Problem = Reasons.Stack.With(
                $"'{stream.Name}' carries the stream through the loop at line {line} inside a {type?.WithNullableAnnotation(NullableAnnotation.None).ToDisplayString() ?? "value"}, which cannot be widened as a whole; pass the tensor itself from block to block");
            return run;
        }

        if (member is not null)
        {
            // var state = (x, padding); state = layer.forward(state);  widens state.x alone.
            run.StreamVariable = stream.Name + "." + member;
        }

        var body = LoopShapes.Body(_loop);
        ConvertedBlockSteps(body, stream);
        var reads = new List<IdentifierNameSyntax>();
        foreach (var id in body.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
        {
            if (id.Identifier.ValueText != stream.Name || !SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(id, _ct).Symbol, stream))
            {
                continue;
            }

            if (IsWrite(id))
            {
                if (!SyntaxQueries.Within(id, _streamOutputs))
                {
                    run.Problem = Reasons.Stack.With(
                        $"the loop changes '{stream.Name}' between blocks at line {SyntaxQueries.Line(id)}; between Expand and Reduce only the blocks may change the streams");
                    return run;
                }

                continue;
            }

            if (!SyntaxQueries.Within(id, _streamInputs) && !IsHarmless(id))
            {
                if (member is not null)
                {
                    run.Problem = Reasons.Stack.With(
                        $"the loop reads '{stream.Name}' at line {SyntaxQueries.Line(id)} besides passing it to the block; with the stream in one of its elements, that read would see n streams");
                    return run;
                }

                reads.Add(id);
            }
        }

        run.OtherReads = reads.ToImmutableArray();
        run.Run = reads.Count == 0 && _calls.Count == 1 && member is null ? RunForm(_calls[0].Call, _calls[0].Block, stream.Name) : null;
        run.Outer = OutermostRepeat(_loop);
        return run;
    }

    /// <summary>
    /// Steps of the loop that run a block converted already (<c>x = xattn[i].forward(x, media)</c> beside the
    /// unconverted <c>x = layers[i].forward(x)</c>): a hyper-connected block takes and returns the streams, so its
    /// call passes the stream on like the others' and is no change between blocks.
    /// </summary>
    private void ConvertedBlockSteps(StatementSyntax body, ISymbol stream)
    {
        foreach (var call in body.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>())
        {
            if (ModuleCalls.Receiver(call) is not { } receiver
                || _model.GetTypeInfo(receiver, _ct).Type is not INamedTypeSymbol type
                || !_symbols.IsHyperConnected(type)
                || call.ArgumentList.Arguments.FirstOrDefault()?.Expression is not { } argument
                || !IsStream(argument, stream)
                || SyntaxQueries.Outermost(call).Parent is not AssignmentExpressionSyntax assignment
                || assignment.Right != SyntaxQueries.Outermost(call))
            {
                continue;
            }

            var output = assignment.Left is TupleExpressionSyntax tuple
                ? tuple.Arguments.Select(a => a.Expression).FirstOrDefault(e => IsStream(e, stream))
                : IsStream(assignment.Left, stream) ? assignment.Left : null;
            if (output is not null)
            {
                _streamInputs.Add(argument);
                _streamOutputs.Add(assignment.Left);
            }
        }
    }

    private bool IsStream(ExpressionSyntax expression, ISymbol stream)
        => SyntaxQueries.Innermost(expression) is IdentifierNameSyntax id
           && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(id, _ct).Symbol, stream);

    /// <summary>The loop, or the outermost loop around it whose body holds nothing else (see <see cref="StackRun.Outer"/>).</summary>
    private static StatementSyntax OutermostRepeat(StatementSyntax loop)
    {
        var outer = loop;
        while (true)
        {
            var parent = outer.Parent is BlockSyntax { Statements.Count: 1 } block ? block.Parent : outer.Parent;
            if (parent is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax)
            {
                outer = (StatementSyntax)parent;
                continue;
            }

            return outer;
        }
    }

    /// <summary>
    /// The element of a tuple variable that carries the stream, when the block takes a tuple and its stream is one of
    /// the tuple's elements: the same position in the variable's own tuple type (its names may differ).
    /// </summary>
    private static string? TupleElement(ITypeSymbol? type, BlockAnalysis block)
    {
        if (type is not INamedTypeSymbol { IsTupleType: true } tuple
            || block.Stream is not { Member: IFieldSymbol field } origin
            || origin.Parameter.Type is not INamedTypeSymbol { IsTupleType: true } parameterType)
        {
            return null;
        }

        var index = parameterType.TupleElements.IndexOf(field.CorrespondingTupleField ?? field);
        if (index < 0)
        {
            index = parameterType.TupleElements.Select(e => e.Name).ToList().IndexOf(field.Name);
        }

        return index >= 0 && index < tuple.TupleElements.Length ? tuple.TupleElements[index].Name : null;
    }

    /// <summary>Variables read where the block takes its stream: the argument itself, or the record it is built into.</summary>
    private IEnumerable<ISymbol> Inputs(InvocationExpressionSyntax call, BlockAnalysis block)
    {
        if (block.Stream is not { } origin || StreamArgument(call, origin.Parameter) is not { } argument)
        {
            yield break;
        }

        SyntaxNode source = argument;
        if (SyntaxQueries.Innermost(argument) is IdentifierNameSyntax local
            && _model.GetSymbolInfo(local, _ct).Symbol is ILocalSymbol record
            && record.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_ct) is VariableDeclaratorSyntax { Initializer.Value: { } initializer } declarator
            && _loop.Span.Contains(declarator.Span))
        {
            // var input = new LayerInput(hidden, mask, cache); layer.forward(input);
            source = declarator.FirstAncestorOrSelf<StatementSyntax>() ?? (SyntaxNode)initializer;
        }

        _streamInputs.Add(source);
        foreach (var id in source.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
        {
            if (_model.GetSymbolInfo(id, _ct).Symbol is { Kind: SymbolKind.Local or SymbolKind.Parameter } symbol)
            {
                yield return symbol;
            }
        }
    }

    private static ExpressionSyntax? StreamArgument(InvocationExpressionSyntax call, IParameterSymbol parameter)
    {
        var arguments = call.ArgumentList.Arguments;
        var named = arguments.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == parameter.Name);
        if (named is not null)
        {
            return named.Expression;
        }

        return parameter.Ordinal < arguments.Count && arguments[parameter.Ordinal].NameColon is null ? arguments[parameter.Ordinal].Expression : null;
    }

    /// <summary>Variables assigned the block's stream output: the call itself, a member of its result, or a tuple element.</summary>
    private IEnumerable<ISymbol> Outputs(InvocationExpressionSyntax call, BlockAnalysis block)
    {
        var exit = block.Exit;
        SyntaxNode result = SyntaxQueries.Outermost(call);
        while (true)
        {
            // (Block)…, …!, ….MoveToOuterDisposeScope(): the same tensor.
            if (result.Parent is CastExpressionSyntax or PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression })
            {
                result = SyntaxQueries.Outermost(result.Parent);
            }
            else if (result.Parent is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "MoveToOuterDisposeScope" or "DetachFromDisposeScope" or "alias" } owned
                     && owned.Expression == result && owned.Parent is InvocationExpressionSyntax { ArgumentList.Arguments.Count: 0 } ownership)
            {
                result = SyntaxQueries.Outermost(ownership);
            }
            else
            {
                break;
            }
        }

        if (result.Parent is MemberAccessExpressionSyntax access && access.Expression == result && MatchesExit(access.Name.Identifier.ValueText, exit))
        {
            result = SyntaxQueries.Outermost(access);
        }

        switch (result.Parent)
        {
            case AssignmentExpressionSyntax assignment when assignment.Right == result:
                foreach (var symbol in Assigned(assignment.Left, exit))
                {
                    _streamOutputs.Add(assignment.Left);
                    if (symbol is ILocalSymbol local && Declares(assignment.Left, local))
                    {
                        // var (h, weights) = layer.forward(x); x = h;  the stream goes on in x.
                        foreach (var copy in Copies(local))
                        {
                            yield return copy;
                        }

                        continue;
                    }

                    yield return symbol;
                }

                break;
            case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator } when _model.GetDeclaredSymbol(declarator, _ct) is ILocalSymbol output:
                // var o = layer.forward(...); x = o.HiddenStates;  or  (x, _) = o;
                foreach (var assignment in LoopShapes.Body(_loop).DescendantNodes().OfType<AssignmentExpressionSyntax>())
                {
                    var value = SyntaxQueries.Innermost(assignment.Right);
                    var fromOutput = value switch
                    {
                        MemberAccessExpressionSyntax member when MatchesExit(member.Name.Identifier.ValueText, exit) => member.Expression,
                        IdentifierNameSyntax id => id,
                        _ => null,
                    };
                    if (fromOutput is not null && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(fromOutput, _ct).Symbol, output))
                    {
                        foreach (var symbol in Assigned(assignment.Left, value is IdentifierNameSyntax ? exit : StreamExit.Direct))
                        {
                            _streamOutputs.Add(assignment.Left);
                            yield return symbol;
                        }
                    }
                }

                break;
        }
    }

    /// <summary>
    /// The variable an assignment target names: <c>x</c>, or the element of <c>(x, cache)</c> the stream leaves by,
    /// also where the deconstruction declares it (<c>var (h, cache)</c>, <c>(var h, var cache)</c>).
    /// </summary>
    private IEnumerable<ISymbol> Assigned(ExpressionSyntax target, StreamExit exit)
    {
        var index = exit.Kind == StreamExitKind.TupleElement ? exit.Index : 0;
        if (target is DeclarationExpressionSyntax { Designation: ParenthesizedVariableDesignationSyntax designation })
        {
            if (index >= 0 && index < designation.Variables.Count && designation.Variables[index] is SingleVariableDesignationSyntax single
                && _model.GetDeclaredSymbol(single, _ct) is ILocalSymbol declared)
            {
                yield return declared;
            }

            yield break;
        }

        if (target is TupleExpressionSyntax tuple)
        {
            if (index < 0 || index >= tuple.Arguments.Count)
            {
                yield break;
            }

            var element = tuple.Arguments[index].Expression is DeclarationExpressionSyntax { Designation: SingleVariableDesignationSyntax single }
                ? _model.GetDeclaredSymbol(single, _ct)
                : _model.GetSymbolInfo(tuple.Arguments[index].Expression, _ct).Symbol;
            if (element is { Kind: SymbolKind.Local or SymbolKind.Parameter })
            {
                yield return element;
            }

            yield break;
        }

        if (_model.GetSymbolInfo(target, _ct).Symbol is { Kind: SymbolKind.Local or SymbolKind.Parameter } symbol)
        {
            yield return symbol;
        }
    }

    /// <summary>Whether a deconstruction's target declares <paramref name="local"/> itself.</summary>
    private bool Declares(ExpressionSyntax target, ILocalSymbol local)
        => target.DescendantNodesAndSelf().OfType<SingleVariableDesignationSyntax>()
            .Any(d => SymbolEqualityComparer.Default.Equals(_model.GetDeclaredSymbol(d, _ct), local));

    /// <summary>Variables the loop body assigns a temporary to as it is (<c>x = h;</c>).</summary>
    private IEnumerable<ISymbol> Copies(ILocalSymbol temporary)
    {
        foreach (var assignment in LoopShapes.Body(_loop).DescendantNodes().OfType<AssignmentExpressionSyntax>())
        {
            if (assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
                && SyntaxQueries.Innermost(assignment.Right) is IdentifierNameSyntax id
                && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(id, _ct).Symbol, temporary))
            {
                foreach (var symbol in Assigned(assignment.Left, StreamExit.Direct))
                {
                    _streamOutputs.Add(assignment.Left);
                    yield return symbol;
                }
            }
        }
    }

    /// <summary>A member of the block's output that may carry the stream: the one its forward returns it by, when known.</summary>
    private static bool MatchesExit(string member, StreamExit exit) => exit.Kind switch
    {
        StreamExitKind.Member => Normalize(member) == Normalize(exit.Member ?? member),
        StreamExitKind.TupleElement => member == "Item" + (exit.Index + 1) || exit.Index < 0 || (exit.Member is not null && member == exit.Member),
        _ => true,
    };

    private static string Normalize(string name) => name.Replace("_", "").ToLowerInvariant();

    private static bool IsWrite(IdentifierNameSyntax id)
        => id.Parent is AssignmentExpressionSyntax assignment && assignment.Left == id
           || id.Parent is ArgumentSyntax { Parent: TupleExpressionSyntax tuple } && tuple.Parent is AssignmentExpressionSyntax deconstruction && deconstruction.Left == tuple
           || id.Parent is ArgumentSyntax { RefKindKeyword.RawKind: (int)SyntaxKind.OutKeyword or (int)SyntaxKind.RefKeyword }
           || id.Parent is PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax { RawKind: not (int)SyntaxKind.SuppressNullableWarningExpression };

    /// <summary><c>x.device</c>, <c>x.dtype</c>, <c>x.shape[0]</c>, <c>x.size(0)</c>: the same on n streams.</summary>
    private static bool IsHarmless(IdentifierNameSyntax id)
        => id.Parent is MemberAccessExpressionSyntax { Name.Identifier.ValueText: var name } access && access.Expression == id
           && (name is "device" or "dtype" or "requires_grad"
               || (name == "shape" && access.Parent is ElementAccessExpressionSyntax { ArgumentList.Arguments: [{ Expression: LiteralExpressionSyntax { Token.ValueText: "0" } }] })
               || (name == "size" && access.Parent is InvocationExpressionSyntax { ArgumentList.Arguments: [{ Expression: LiteralExpressionSyntax { Token.ValueText: "0" or "0L" } }] }));

    /// <summary>
    /// The run a loop becomes when it visits every block of one list in order and its body is the single step
    /// <c>x = block.forward(x, ...)</c> whose other arguments use neither the stream nor the index.
    /// </summary>
    private RunForm? RunForm(InvocationExpressionSyntax step, INamedTypeSymbol block, string stream)
    {
        var statement = LoopShapes.Body(_loop);
        if (statement is BlockSyntax { Statements.Count: 1 } single)
        {
            statement = single.Statements[0];
        }

        if (statement is not ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: IdentifierNameSyntax target, Right: var right } assignment }
            || !assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
            || target.Identifier.ValueText != stream
            || right != step
            || step.ArgumentList.Arguments.Count == 0
            || step.ArgumentList.Arguments[0] is not { NameColon: null, Expression: IdentifierNameSyntax first }
            || first.Identifier.ValueText != stream
            || step.Expression is not MemberAccessExpressionSyntax access)
        {
            return null;
        }

        var variables = LoopShapes.IterationVariables(_loop);
        bool Uses(SyntaxNode node, string name) => node.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == name);
        var rest = step.ArgumentList.Arguments.Skip(1).ToList();
        switch (_loop)
        {
            case ForEachStatementSyntax each
                when access.Expression is IdentifierNameSyntax receiver && receiver.Identifier.ValueText == each.Identifier.ValueText
                     && (each.Type.IsVar || NamesType(each.Type, block.Name))
                     && !rest.Any(a => Uses(a, stream)):
                return new RunForm(each.Expression, each.Identifier.ValueText, step);
            case ForStatementSyntax counted
                when access.Expression is ElementAccessExpressionSyntax { ArgumentList.Arguments: [{ Expression: IdentifierNameSyntax index }] } element
                     && LoopShapes.CountsUpOver(counted, element.Expression) == index.Identifier.ValueText
                     && !rest.Any(a => Uses(a, stream) || variables.Any(v => Uses(a, v))):
                return new RunForm(element.Expression, null, step);
            default:
                return null;
        }
    }

    private static bool NamesType(TypeSyntax type, string name) => type switch
    {
        IdentifierNameSyntax id => id.Identifier.ValueText == name,
        QualifiedNameSyntax qualified => qualified.Right.Identifier.ValueText == name,
        AliasQualifiedNameSyntax alias => alias.Name.Identifier.ValueText == name,
        _ => false,
    };
}
