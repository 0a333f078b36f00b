using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Detection.Flow;

/// <summary>
/// Follows the tensors of one <c>forward</c> method through its operations in execution order: which
/// stream state every variable holds, which sums add a branch to the state it was computed from (residual
/// connections), and where each state is read. Loops run twice and the arms of a conditional are merged,
/// so a value is what it can be on any path. Lambdas and local functions are not entered; what they
/// capture counts as read where they are created.
/// </summary>
internal sealed class StreamFlow
{
    private readonly TorchSymbols _symbols;
    private readonly INamedTypeSymbol _type;
    private readonly System.Func<IOperation, bool> _changesWidth;
    private readonly CancellationToken _ct;

    private Dictionary<object, FlowValue> _state = new();
    private readonly Dictionary<object, StreamOrigin> _origins = new();
    private readonly Dictionary<StreamOrigin, int> _versions = new();
    private readonly Dictionary<IOperation, SumFact> _sums = new();
    private readonly List<SumFact> _sumOrder = new();
    private readonly HashSet<StateRead> _reads = new();
    private readonly List<StateRead> _readOrder = new();
    private readonly Dictionary<IReturnOperation, FlowValue> _returns = new();
    private readonly Dictionary<StatementSyntax, ImmutableDictionary<object, StreamState?>> _statesBefore = new();
    private readonly Dictionary<IInvocationOperation, DerivedState> _derived = new();
    private readonly List<DerivedState> _derivedOrder = new();
    private readonly Dictionary<(StreamState Skipped, StreamState Taken), StreamState> _joins = new();

    private StreamFlow(TorchSymbols symbols, INamedTypeSymbol type, System.Func<IOperation, bool> changesWidth, CancellationToken ct)
    {
        _symbols = symbols;
        _type = type;
        _changesWidth = changesWidth;
        _ct = ct;
    }

    /// <param name="changesWidth">Whether a branch operand is known to change the stream's width (then it is no branch).</param>
    public static FlowFacts? Analyze(
        MethodDeclarationSyntax forward,
        SemanticModel model,
        TorchSymbols symbols,
        INamedTypeSymbol type,
        System.Func<IOperation, bool> changesWidth,
        CancellationToken ct)
    {
        if (model.GetOperation(forward, ct) is not IMethodBodyOperation body)
        {
            return null;
        }

        var flow = new StreamFlow(symbols, type, changesWidth, ct);
        var root = (IOperation?)body.BlockBody ?? body.ExpressionBody;
        if (root is null)
        {
            return null;
        }

        flow.Exec(root);
        return new FlowFacts(
            root,
            flow._origins.Values.Distinct().OrderBy(o => o.Id).ToImmutableArray(),
            flow._sumOrder.ToImmutableArray(),
            flow._readOrder.ToImmutableArray(),
            flow._returns.Select(r => (r.Key, r.Value)).ToImmutableArray(),
            flow._statesBefore.ToImmutableDictionary(),
            flow._derivedOrder.ToImmutableArray());
    }

    // ----- statements -----

    private void Exec(IOperation? operation)
    {
        if (operation is null)
        {
            return;
        }

        _ct.ThrowIfCancellationRequested();
        if (operation.Syntax is StatementSyntax statement && !_statesBefore.ContainsKey(statement))
        {
            _statesBefore[statement] = Snapshot();
        }

        switch (operation)
        {
            case IBlockOperation block:
                foreach (var inner in block.Operations)
                {
                    Exec(inner);
                }

                break;
            case IVariableDeclarationGroupOperation group:
                Declare(group);
                break;
            case IUsingDeclarationOperation usingDeclaration:
                Declare(usingDeclaration.DeclarationGroup);
                break;
            case IExpressionStatementOperation expression:
                Eval(expression.Operation);
                break;
            case IReturnOperation @return:
                var returned = @return.ReturnedValue is null ? FlowValue.None : Eval(@return.ReturnedValue);
                _returns[@return] = _returns.TryGetValue(@return, out var earlier) ? FlowValue.Merge(earlier, returned) : returned;
                break;
            case IConditionalOperation conditional:
                Eval(conditional.Condition);
                Branches(conditional.WhenTrue, conditional.WhenFalse);
                break;
            case ISwitchOperation @switch:
                Eval(@switch.Value);
                SwitchCases(@switch);
                break;
            case IForEachLoopOperation forEach:
                var collection = Eval(forEach.Collection).Computed();
                Loop(() =>
                {
                    AssignLoopVariable(forEach.LoopControlVariable, collection);
                    Exec(forEach.Body);
                });
                break;
            case IForLoopOperation forLoop:
                foreach (var before in forLoop.Before)
                {
                    Exec(before);
                }

                Loop(() =>
                {
                    Eval(forLoop.Condition);
                    Exec(forLoop.Body);
                    foreach (var bottom in forLoop.AtLoopBottom)
                    {
                        Exec(bottom);
                    }
                });
                break;
            case IWhileLoopOperation whileLoop:
                Loop(() =>
                {
                    Eval(whileLoop.Condition);
                    Exec(whileLoop.Body);
                });
                break;
            case IUsingOperation @using:
                Eval(@using.Resources);
                Exec(@using.Body);
                break;
            case ILockOperation @lock:
                Eval(@lock.LockedValue);
                Exec(@lock.Body);
                break;
            case ITryOperation @try:
                Exec(@try.Body);
                foreach (var clause in @try.Catches)
                {
                    Exec(clause.Handler);
                }

                Exec(@try.Finally);
                break;
            case ILabeledOperation labeled:
                Exec(labeled.Operation);
                break;
            case ILocalFunctionOperation or IBranchOperation or IEmptyOperation:
                break;
            default:
                Eval(operation);
                break;
        }
    }

    private void Declare(IVariableDeclarationGroupOperation group)
    {
        foreach (var declaration in group.Declarations)
        {
            foreach (var declarator in declaration.Declarators)
            {
                var initializer = declarator.Initializer ?? declaration.Initializer;
                if (initializer is not null)
                {
                    _state[declarator.Symbol] = Eval(initializer.Value);
                }
            }
        }
    }

    private void AssignLoopVariable(IOperation? variable, FlowValue value)
    {
        switch (variable)
        {
            case IVariableDeclaratorOperation declarator:
                _state[declarator.Symbol] = value;
                break;
            case IDeclarationExpressionOperation or ITupleOperation:
                AssignAll(variable, value);
                break;
        }
    }

    private void Branches(IOperation? whenTrue, IOperation? whenFalse)
    {
        var before = new Dictionary<object, FlowValue>(_state);
        Exec(whenTrue);
        var afterTrue = _state;
        _state = before;
        Exec(whenFalse);
        var merged = MergeStates(afterTrue, _state);
        if (whenFalse is null)
        {
            JoinSkippedConnections(merged, before, afterTrue);
        }

        _state = merged;
    }

    /// <summary>
    /// <c>if (cross_attn != null) x = x + cross_attn(ln(x), xa);</c>: after an if without else, a variable that
    /// holds a stream state on one path and what residual connections made of that state on the other holds
    /// the stream still, one of its states either way (a skipped connection leaves the streams as they are).
    /// </summary>
    private void JoinSkippedConnections(Dictionary<object, FlowValue> merged, Dictionary<object, FlowValue> skipped, Dictionary<object, FlowValue> taken)
    {
        foreach (var pair in taken)
        {
            if (pair.Value.Identity is { } after
                && skipped.TryGetValue(pair.Key, out var other) && other.Identity is { } before
                && after != before && ProducedByResiduals(after, before))
            {
                merged[pair.Key] = FlowValue.Of(JoinState(before, after));
            }
        }
    }

    /// <summary>Whether <paramref name="state"/> is <paramref name="from"/> after one or more residual connections.</summary>
    private static bool ProducedByResiduals(StreamState state, StreamState from)
    {
        for (var current = state; current.Producer is SumFact { Kind: SumKind.Residual, Consumed: { } consumed }; current = consumed)
        {
            if (consumed == from)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One state per pair, however often the if is interpreted; its producer is the last connection it may have run.</summary>
    private StreamState JoinState(StreamState skipped, StreamState taken)
    {
        if (!_joins.TryGetValue((skipped, taken), out var join))
        {
            join = NextState(taken, (SumFact)taken.Producer!);
            _joins[(skipped, taken)] = join;
        }

        return join;
    }

    private void SwitchCases(ISwitchOperation @switch)
    {
        var before = _state;
        Dictionary<object, FlowValue>? merged = null;
        foreach (var @case in @switch.Cases)
        {
            _state = new Dictionary<object, FlowValue>(before);
            foreach (var statement in @case.Body)
            {
                Exec(statement);
            }

            merged = merged is null ? _state : MergeStates(merged, _state);
        }

        _state = merged is null ? before : MergeStates(merged, before);
    }

    private void Loop(System.Action body)
    {
        // Twice, so that what one iteration leaves behind meets the start of the next.
        var before = new Dictionary<object, FlowValue>(_state);
        body();
        _state = MergeStates(before, _state);
        body();
        _state = MergeStates(before, _state);
    }

    private static Dictionary<object, FlowValue> MergeStates(Dictionary<object, FlowValue> a, Dictionary<object, FlowValue> b)
    {
        var merged = new Dictionary<object, FlowValue>(a);
        foreach (var pair in b)
        {
            merged[pair.Key] = a.TryGetValue(pair.Key, out var other) ? FlowValue.Merge(other, pair.Value) : pair.Value;
        }

        return merged;
    }

    /// <summary>Every variable assigned so far with the stream state it holds, null where it holds anything else.</summary>
    private ImmutableDictionary<object, StreamState?> Snapshot()
    {
        var builder = ImmutableDictionary.CreateBuilder<object, StreamState?>();
        foreach (var pair in _state)
        {
            builder[pair.Key] = pair.Value.Identity;
        }

        return builder.ToImmutable();
    }

    // ----- expressions -----

    private FlowValue Eval(IOperation? operation)
    {
        switch (operation)
        {
            case null:
                return FlowValue.None;
            case IConversionOperation conversion:
                return Eval(conversion.Operand);
            case IParenthesizedOperation parenthesized:
                return Eval(parenthesized.Operand);
            case ILocalReferenceOperation local:
                return Read(local, local.Local);
            case IParameterReferenceOperation parameter:
                return Read(parameter, parameter.Parameter);
            case IPropertyReferenceOperation { Arguments.Length: 0 } metadata
                when metadata.Instance is not null && _symbols.IsTensor(metadata.Instance.Type) && TensorMetadata.IsProperty(metadata.Property.Name):
                // x.shape[0], x.device: the read is recorded (StreamUses judges it), but what it gives carries none of
                // the stream's values (t.reshape(x.shape[0], 2, -1) is not computed from x).
                Eval(metadata.Instance);
                return FlowValue.None;
            case IPropertyReferenceOperation { Arguments.Length: 0 } property when property.Instance is not null:
                return Member(property, property.Instance, property.Property);
            case IFieldReferenceOperation field when field.Instance is not null:
                return Member(field, field.Instance, field.Field);
            case IInstanceReferenceOperation or ILiteralOperation or IDefaultValueOperation or ITypeOfOperation or INameOfOperation or ISizeOfOperation:
                return FlowValue.None;
            case IBinaryOperation binary when binary.OperatorKind == BinaryOperatorKind.Add && _symbols.IsTensor(binary.Type):
                return Sum(binary, SumSpelling.Operator, AddChain(binary).Select(o => (o, Eval(o))).ToImmutableArray(), target: null);
            case ICompoundAssignmentOperation compound when compound.OperatorKind == BinaryOperatorKind.Add && _symbols.IsTensor(compound.Type):
                {
                    var current = Eval(compound.Target);
                    var added = Eval(compound.Value);
                    var result = Sum(compound, SumSpelling.Compound, ImmutableArray.Create((compound.Target, current), (compound.Value, added)), TargetKey(compound.Target));
                    Assign(compound.Target, result);
                    return result;
                }

            case ISimpleAssignmentOperation assignment:
                {
                    var value = Eval(assignment.Value);
                    Assign(assignment.Target, value);
                    return value;
                }

            case IDeconstructionAssignmentOperation deconstruction:
                {
                    if (deconstruction.Value is ITupleOperation tuple && Targets(deconstruction.Target) is { } targets && targets.Length == tuple.Elements.Length)
                    {
                        var values = tuple.Elements.Select(Eval).ToList();
                        for (var i = 0; i < targets.Length; i++)
                        {
                            Assign(targets[i], values[i]);
                        }

                        return FlowValue.Combine(values);
                    }

                    // var (x, padding) = input;  with input a tuple parameter: each tensor element is an input of its own.
                    if (ModuleCalls.Unwrap(deconstruction.Value) is IParameterReferenceOperation { Parameter: { Type: INamedTypeSymbol { IsTupleType: true } tupleType } parameter }
                        && Targets(deconstruction.Target) is { } elements && elements.Length == tupleType.TupleElements.Length)
                    {
                        for (var i = 0; i < elements.Length; i++)
                        {
                            var field = tupleType.TupleElements[i];
                            if (_symbols.IsTensor(field.Type))
                            {
                                var key = new MemberKey(parameter, field);
                                Assign(elements[i], _state.TryGetValue(key, out var known) ? known : FlowValue.Of(EntryState(Origin(key, parameter, field))));
                            }
                        }

                        return FlowValue.None;
                    }

                    var value = Eval(deconstruction.Value);
                    AssignAll(deconstruction.Target, value.Computed());
                    return value.Computed();
                }

            case IInvocationOperation invocation:
                return Invocation(invocation);
            case IConditionalOperation conditional:
                {
                    Eval(conditional.Condition);
                    var before = new Dictionary<object, FlowValue>(_state);
                    var whenTrue = Eval(conditional.WhenTrue);
                    var afterTrue = _state;
                    _state = before;
                    var whenFalse = Eval(conditional.WhenFalse);
                    _state = MergeStates(afterTrue, _state);
                    return FlowValue.Merge(whenTrue, whenFalse);
                }

            case ICoalesceOperation coalesce:
                return FlowValue.Merge(Eval(coalesce.Value), Eval(coalesce.WhenNull));
            case IAnonymousFunctionOperation or ILocalFunctionOperation:
                return Captured(operation);
            case IDelegateCreationOperation delegateCreation:
                return Eval(delegateCreation.Target);
            default:
                return FlowValue.Combine(operation.ChildOperations.Select(Eval).ToList()).Computed();
        }
    }

    /// <summary>The operands of <c>a + b + c</c> (a chain of tensor additions, however it is parenthesized), in source order.</summary>
    private IEnumerable<IOperation> AddChain(IOperation operation)
    {
        var inner = ModuleCalls.Unwrap(operation)!;
        if (inner is IBinaryOperation binary && binary.OperatorKind == BinaryOperatorKind.Add && _symbols.IsTensor(binary.Type))
        {
            return AddChain(binary.LeftOperand).Concat(AddChain(binary.RightOperand));
        }

        return new[] { operation };
    }

    private FlowValue Read(IOperation reference, ISymbol symbol)
    {
        FlowValue value;
        if (_state.TryGetValue(symbol, out var known))
        {
            value = known;
        }
        else if (symbol is IParameterSymbol parameter && _symbols.IsTensor(parameter.Type))
        {
            value = FlowValue.Of(EntryState(Origin(symbol, parameter, null)));
        }
        else
        {
            value = FlowValue.None;
        }

        Record(reference, value);
        return value;
    }

    /// <summary>A member read: <c>input.HiddenStates</c> is an input of its own; a member of a computed value is computed from it.</summary>
    private FlowValue Member(IOperation reference, IOperation instance, ISymbol member)
    {
        if (ModuleCalls.Unwrap(instance) is IParameterReferenceOperation { Parameter: var parameter }
            && !_symbols.IsTensor(parameter.Type)
            && _symbols.IsTensor(MemberType(member)))
        {
            var key = new MemberKey(parameter, member);
            var value = _state.TryGetValue(key, out var known) ? known : FlowValue.Of(EntryState(Origin(key, parameter, member)));
            Record(reference, value);
            return value;
        }

        if (ModuleCalls.Unwrap(instance) is IInstanceReferenceOperation)
        {
            return FlowValue.None;
        }

        return Eval(instance).Computed();
    }

    private static ITypeSymbol? MemberType(ISymbol member) => member switch
    {
        IPropertySymbol property => property.Type,
        IFieldSymbol field => field.Type,
        _ => null,
    };

    private void Record(IOperation reference, FlowValue value)
    {
        if (value.Identity is { } state)
        {
            var read = new StateRead(reference, state);
            if (_reads.Add(read))
            {
                _readOrder.Add(read);
            }
        }
    }

    private StreamOrigin Origin(object key, IParameterSymbol parameter, ISymbol? member)
    {
        if (!_origins.TryGetValue(key, out var origin))
        {
            origin = new StreamOrigin(_origins.Count, parameter, member);
            _origins[key] = origin;
        }

        return origin;
    }

    private readonly Dictionary<StreamOrigin, StreamState> _entries = new();

    private StreamState EntryState(StreamOrigin origin)
    {
        if (!_entries.TryGetValue(origin, out var state))
        {
            state = new StreamState(origin, 0, null);
            _entries[origin] = state;
            _versions[origin] = 0;
        }

        return state;
    }

    private FlowValue Captured(IOperation function)
    {
        // A lambda that reads a stream variable reads it where the lambda is made.
        var parts = new List<FlowValue>();
        foreach (var reference in function.Descendants())
        {
            var symbol = reference switch
            {
                ILocalReferenceOperation local => (ISymbol)local.Local,
                IParameterReferenceOperation parameter => parameter.Parameter,
                _ => null,
            };
            if (symbol is not null && _state.TryGetValue(symbol, out var value))
            {
                Record(reference, value);
                parts.Add(value);
            }
        }

        return FlowValue.Combine(parts).Computed();
    }

    // ----- assignments -----

    private static object? TargetKey(IOperation target) => ModuleCalls.Unwrap(target) switch
    {
        ILocalReferenceOperation local => local.Local,
        IParameterReferenceOperation parameter => parameter.Parameter,
        IPropertyReferenceOperation { Instance: IParameterReferenceOperation parameter, Arguments.Length: 0 } property => new MemberKey(parameter.Parameter, property.Property),
        IFieldReferenceOperation { Instance: IParameterReferenceOperation parameter } field => new MemberKey(parameter.Parameter, field.Field),
        _ => null,
    };

    private void Assign(IOperation target, FlowValue value)
    {
        switch (ModuleCalls.Unwrap(target))
        {
            case IDeclarationExpressionOperation or ITupleOperation:
                AssignAll(target, value);
                return;
            case IDiscardOperation:
                return;
        }

        if (TargetKey(target) is { } key)
        {
            _state[key] = value;
        }
        else
        {
            // Fields, elements, indexers: the stored value is read there (an escape the checks report).
            EvalTargetInstance(target);
        }
    }

    private void EvalTargetInstance(IOperation target)
    {
        switch (ModuleCalls.Unwrap(target))
        {
            case IPropertyReferenceOperation property:
                Eval(property.Instance);
                foreach (var argument in property.Arguments)
                {
                    Eval(argument.Value);
                }

                break;
            case IArrayElementReferenceOperation element:
                Eval(element.ArrayReference);
                foreach (var index in element.Indices)
                {
                    Eval(index);
                }

                break;
        }
    }

    private static ImmutableArray<IOperation>? Targets(IOperation target) => ModuleCalls.Unwrap(target) switch
    {
        IDeclarationExpressionOperation { Expression: ITupleOperation tuple } => tuple.Elements,
        ITupleOperation tuple => tuple.Elements,
        _ => null,
    };

    private void AssignAll(IOperation target, FlowValue value)
    {
        switch (ModuleCalls.Unwrap(target))
        {
            case IDeclarationExpressionOperation declaration:
                AssignAll(declaration.Expression, value);
                break;
            case ITupleOperation tuple:
                foreach (var element in tuple.Elements)
                {
                    AssignAll(element, value);
                }

                break;
            case IDiscardOperation:
                break;
            default:
                Assign(target, value);
                break;
        }
    }

    // ----- calls -----

    private FlowValue Invocation(IInvocationOperation invocation)
    {
        var method = invocation.TargetMethod;
        var receiver = invocation.Instance is null ? FlowValue.None : Eval(invocation.Instance);
        var arguments = invocation.Arguments.Select(a => (Argument: a, Value: Eval(a.Value))).ToList();
        var tensorArguments = arguments.Where(a => _symbols.IsTensor(a.Argument.Value.Type)).ToList();

        if (ModuleCalls.IsModuleRun(invocation, _symbols))
        {
            var value = FlowValue.Combine(arguments.Select(a => a.Value).Append(receiver), throughModule: true);
            // A module run on exactly one stream state (norm(x), shortcut(x), attn(x, x, x)): kept apart, see DerivedState.
            var states = arguments.SelectMany(a => a.Value.States).Distinct().ToList();
            if (arguments.Count > 0 && arguments[0].Value.Identity is { } state && states.Count == 1)
            {
                if (!_derived.TryGetValue(invocation, out var derived) || derived.Parent != state)
                {
                    var type = invocation.Instance?.Type;
                    derived = new DerivedState(state, invocation, ModuleCalls.ReceiverMember(invocation), type);
                    _derived[invocation] = derived;
                    _derivedOrder.Add(derived);
                }

                return FlowValue.Of(derived);
            }

            return value;
        }

        if (invocation.Instance is not null && _symbols.IsTensor(invocation.Instance.Type))
        {
            switch (method.Name)
            {
                case "add" or "add_" when arguments.Count == 1 && tensorArguments.Count == 1:
                    {
                        var inPlace = method.Name == "add_";
                        var target = inPlace ? TargetKey(invocation.Instance) : null;
                        var result = Sum(invocation, inPlace ? SumSpelling.AddInPlace : SumSpelling.AddMethod,
                            ImmutableArray.Create((invocation.Instance, receiver), (arguments[0].Argument.Value, arguments[0].Value)), target);
                        if (target is not null)
                        {
                            _state[target] = result;
                        }

                        return result;
                    }

                case "MoveToOuterDisposeScope" or "DetachFromDisposeScope" or "alias" when arguments.Count == 0:
                    // Ownership only (or a new handle on the same storage): the same tensor.
                    return receiver;
                case var metadataMethod when TensorMetadata.IsMethod(metadataMethod):
                    // Metadata, as x.shape above: none of the stream's values.
                    return FlowValue.Combine(arguments.Select(a => a.Value).ToList());
            }
        }

        if (method.IsStatic && method.Name == "add" && arguments.Count == 2 && tensorArguments.Count == 2
            && SymbolEqualityComparer.Default.Equals(method.ContainingType, _symbols.Torch))
        {
            return Sum(invocation, SumSpelling.TorchAdd,
                ImmutableArray.Create((arguments[0].Argument.Value, arguments[0].Value), (arguments[1].Argument.Value, arguments[1].Value)), target: null);
        }

        if (method.Name == "MoveToOuter" && arguments.Count == 1 && _symbols.IsTensor(method.ReturnType))
        {
            // scope.MoveToOuter(x): the same tensor, now owned by the outer scope.
            return arguments[0].Value;
        }

        // A helper method of this module (private Tensor Attention(Tensor x)) runs modules of its own.
        var helper = !method.IsStatic
            && SymbolEqualityComparer.Default.Equals(method.ContainingType, _type)
            && invocation.Instance is IInstanceReferenceOperation or null
            && !method.DeclaringSyntaxReferences.IsEmpty;
        return FlowValue.Combine(arguments.Select(a => a.Value).Append(receiver), throughModule: helper);
    }

    // ----- sums -----

    private FlowValue Sum(IOperation operation, SumSpelling spelling, ImmutableArray<(IOperation Operand, FlowValue Value)> operands, object? target)
    {
        if (!_sums.TryGetValue(operation, out var fact))
        {
            fact = new SumFact(operation, spelling, operands) { InPlaceTarget = target as ISymbol };
            Classify(fact);
            _sums[operation] = fact;
            _sumOrder.Add(fact);
        }

        return fact.Kind switch
        {
            SumKind.Residual or SumKind.PostNormIdentity when fact.Produced is not null => FlowValue.Of(fact.Produced),
            _ => FlowValue.Combine(operands.Select(o => o.Value)).Computed(),
        };
    }

    private void Classify(SumFact fact)
    {
        var operands = fact.Operands;
        for (var i = 0; i < operands.Length; i++)
        {
            if (operands[i].Value.Identity is not { } state)
            {
                continue;
            }

            var others = Others(operands, i);
            if (others.Count > 0 && others.All(o => IsBranchOf(o, state)))
            {
                fact.Kind = SumKind.Residual;
                fact.IdentityIndex = i;
                fact.Consumed = state;
                fact.Produced = NextState(state, fact);
                return;
            }
        }

        for (var i = 0; i < operands.Length; i++)
        {
            if (operands[i].Value.Derived is not { } derived)
            {
                continue;
            }

            var others = Others(operands, i);
            if (others.Count > 0 && others.All(o => o.Value.BranchOf(derived)))
            {
                var postNorm = Names.IsNorm(derived.Member, derived.ModuleType) && derived.Parent.Producer is not null;
                fact.Kind = postNorm ? SumKind.PostNormIdentity : SumKind.InnerIdentity;
                fact.IdentityIndex = i;
                fact.Consumed = derived.Parent;
                fact.Derived = derived;
                fact.Produced = postNorm ? NextState(derived.Parent, fact) : null;
                return;
            }
        }

        for (var i = 0; i < operands.Length; i++)
        {
            var value = operands[i].Value;
            if ((value.IdentityOrDerived ?? value.Derived) is not { } shortcut)
            {
                continue;
            }

            var others = Others(operands, i);
            var optional = value.IdentityOrDerived is not null;
            if (others.Count > 0
                && others.All(o => IsBranchOf(o, shortcut.Parent) && !o.Value.DependsOn(shortcut))
                && (optional || Names.IsShortcut(shortcut.Member) || _changesWidth(shortcut.Call)))
            {
                fact.Kind = SumKind.ProjectionShortcut;
                fact.IdentityIndex = i;
                fact.Consumed = shortcut.Parent;
                fact.Derived = shortcut;
                return;
            }
        }

        if (!LooksResidual(fact))
        {
            NormOfInputs(fact);
        }
    }

    /// <summary>
    /// <c>LayerNorm.forward(dropout(dense(hidden_states)) + input_tensor)</c>: one input of the block added to a value
    /// computed from its other inputs only, and normalized: a post-norm residual whose branch ran in another module.
    /// </summary>
    private void NormOfInputs(SumFact fact)
    {
        var identity = fact.Operands.Select((o, i) => (o.Value.Identity, Index: i)).FirstOrDefault(p => p.Identity is not null);
        if (identity.Identity is not { } state
            || fact.Operands.Length < 2
            || !fact.Operands.Where((_, i) => i != identity.Index).All(o => o.Value.States.Length > 0 && o.Value.States.All(s => s.Origin != state.Origin)))
        {
            return;
        }

        var context = fact.Operation.Parent;
        while (context is IConversionOperation or IParenthesizedOperation)
        {
            context = context.Parent;
        }

        if (context is IArgumentOperation { Parent: IInvocationOperation norm }
            && ModuleCalls.IsModuleRun(norm, _symbols)
            && Names.IsNorm(ModuleCalls.ReceiverMember(norm), norm.Instance!.Type))
        {
            fact.Kind = SumKind.PostNormInputs;
            fact.IdentityIndex = identity.Index;
            fact.Consumed = state;
        }
    }

    /// <summary>
    /// <c>v + f(v)</c> where v is a variable computed from a stream state but no longer one: residual-looking, and
    /// reported as such, since converting it would need v to be the stream.
    /// </summary>
    private bool LooksResidual(SumFact fact)
    {
        var operands = fact.Operands;
        for (var i = 0; i < operands.Length; i++)
        {
            var symbol = ModuleCalls.Unwrap(operands[i].Operand) switch
            {
                ILocalReferenceOperation local => (ISymbol)local.Local,
                IParameterReferenceOperation parameter => parameter.Parameter,
                _ => null,
            };
            var value = operands[i].Value;
            if (symbol is null || value.Identity is not null || value.States.IsEmpty)
            {
                continue;
            }

            var others = Others(operands, i);
            if (others.Count > 0 && others.All(o => RunsModuleOn(o.Operand, symbol)))
            {
                fact.Kind = SumKind.Unresolved;
                fact.IdentityIndex = i;
                fact.Consumed = value.States.OrderBy(s => s.Version).Last();
                return true;
            }
        }

        return false;
    }

    private bool RunsModuleOn(IOperation operand, ISymbol symbol)
        => new[] { operand }.Concat(operand.Descendants()).OfType<IInvocationOperation>()
            .Where(i => ModuleCalls.IsModuleRun(i, _symbols))
            .Any(i => i.Arguments.SelectMany(a => new[] { a.Value }.Concat(a.Value.Descendants()))
                .Any(r => r is ILocalReferenceOperation l && SymbolEqualityComparer.Default.Equals(l.Local, symbol)
                    || r is IParameterReferenceOperation p && SymbolEqualityComparer.Default.Equals(p.Parameter, symbol)));

    private static List<(IOperation Operand, FlowValue Value)> Others(ImmutableArray<(IOperation Operand, FlowValue Value)> operands, int index)
        => operands.Where((_, j) => j != index).ToList();

    /// <summary>
    /// A branch of <paramref name="state"/>: computed from it through at least one module, from no other state of
    /// the same stream, and not the state itself; a branch known to change the width is none.
    /// </summary>
    private bool IsBranchOf((IOperation Operand, FlowValue Value) operand, StreamState state)
    {
        var value = operand.Value;
        return value.Identity is null
            && value.BranchOf(state)
            && value.States.All(s => s == state || s.Origin != state.Origin)
            && !_changesWidth(operand.Operand);
    }

    private StreamState NextState(StreamState state, SumFact producer)
    {
        var version = _versions.TryGetValue(state.Origin, out var last) ? last + 1 : 1;
        _versions[state.Origin] = version;
        return new StreamState(state.Origin, version, producer);
    }
}
