using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace Mhc.Analyzers.Detection.Shapes;

/// <summary>What the stream-shape flow finds; the analyzer turns each into its MHC1xxx diagnostic.</summary>
internal enum ShapeFinding
{
    /// <summary>A Reduce (or a mean over the stream axis) between hyper-connected blocks; arguments: the collapse.</summary>
    CollapsedInsideStack,

    /// <summary>A hyper-connected block given a single stream; arguments: the block, the tensor.</summary>
    InputNotExpanded,

    /// <summary>Expand's stream count against the block's; arguments: expanded, block, block's count.</summary>
    StreamCountMismatch,

    /// <summary>Streams given to a module that takes one; arguments: the tensor, the module.</summary>
    StreamsToSingleStreamModule,
}

/// <summary>What a tensor holds at a point of a forward method.</summary>
internal enum ShapeKind
{
    Unknown,
    Single,
    Streams,
}

/// <summary>
/// What a tensor holds at a point of a forward method. <see cref="CollapsedBy"/> remembers the Reduce
/// a single stream came from, including after it was expanded again: the stream-persistence bug.
/// </summary>
internal readonly record struct Shape(ShapeKind Kind, int? Streams = null, InvocationExpressionSyntax? CollapsedBy = null)
{
    public static readonly Shape Unknown = new(ShapeKind.Unknown);
    public static readonly Shape Single = new(ShapeKind.Single);
}

/// <summary>
/// One pass over a method in source order. Loop bodies run twice so a collapse at the end of one
/// iteration meets the block call at the start of the next; the branches of an if are merged.
/// </summary>
internal sealed class ShapeFlow
{
    /// <summary>Tensor methods that, applied to the streams, collapse them as Reduce does.</summary>
    private static readonly ImmutableHashSet<string> CollapsingMethods = ImmutableHashSet.Create(
        "mean", "sum", "select", "squeeze", "amax", "amin", "max", "min", "logsumexp");

    private readonly SemanticModel _model;
    private readonly System.Threading.CancellationToken _ct;
    private readonly System.Action<ShapeFinding, SyntaxNode, object[]> _report;
    private readonly TorchSymbols _symbols;
    private readonly int _defaultStreams;
    private readonly INamedTypeSymbol _type;
    private readonly HashSet<(ShapeFinding Finding, TextSpan Span)> _reported = new();
    private Dictionary<ISymbol, Shape> _state = new(SymbolEqualityComparer.Default);

    /// <param name="report">Receives each finding once per place, with its message arguments.</param>
    public ShapeFlow(SemanticModel model, TorchSymbols symbols, int defaultStreams, INamedTypeSymbol type, System.Action<ShapeFinding, SyntaxNode, object[]> report, System.Threading.CancellationToken ct)
    {
        _model = model;
        _ct = ct;
        _report = report;
        _symbols = symbols;
        _defaultStreams = defaultStreams;
        _type = type;
    }

    public void Walk(MethodDeclarationSyntax method)
    {
        // A hyper-connected block receives streams in its first tensor parameter (the one the stack passes
        // on; further ones, such as a mask, are not known to hold either); every other module receives one stream.
        var hyperConnected = _symbols.IsHyperConnected(_type);
        var first = true;
        foreach (var parameter in method.ParameterList.Parameters)
        {
            if (_model.GetDeclaredSymbol(parameter, _ct) is { } symbol && _symbols.IsTensor(symbol.Type))
            {
                _state[symbol] = !hyperConnected ? Shape.Single : first ? new Shape(ShapeKind.Streams, StreamsOf(_type)) : Shape.Unknown;
                first = false;
            }
        }

        if (method.Body is not null)
        {
            Statement(method.Body);
        }
        else if (method.ExpressionBody is not null)
        {
            Eval(method.ExpressionBody.Expression);
        }
    }

    private int StreamsOf(INamedTypeSymbol type)
    {
        var attribute = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, _symbols.HyperConnectedAttribute));
        var streams = attribute?.NamedArguments.FirstOrDefault(a => a.Key == "Streams").Value.Value as int?;
        return streams is > 0 ? streams.Value : _defaultStreams;
    }

    private void Statement(StatementSyntax? statement)
    {
        switch (statement)
        {
            case BlockSyntax block:
                foreach (var inner in block.Statements)
                {
                    Statement(inner);
                }

                break;
            case LocalDeclarationStatementSyntax declaration:
                foreach (var variable in declaration.Declaration.Variables)
                {
                    if (variable.Initializer is not null)
                    {
                        var shape = Eval(variable.Initializer.Value);
                        if (_model.GetDeclaredSymbol(variable, _ct) is { } local)
                        {
                            _state[local] = shape;
                        }
                    }
                }

                break;
            case ExpressionStatementSyntax expression:
                Eval(expression.Expression);
                break;
            case ReturnStatementSyntax { Expression: { } returned }:
                Eval(returned);
                break;
            case ForEachStatementSyntax loop:
                Eval(loop.Expression);
                Loop(loop.Statement);
                break;
            case ForStatementSyntax loop:
                Loop(loop.Statement);
                break;
            case WhileStatementSyntax loop:
                Loop(loop.Statement);
                break;
            case DoStatementSyntax loop:
                Loop(loop.Statement);
                break;
            case UsingStatementSyntax @using:
                Statement(@using.Statement);
                break;
            case IfStatementSyntax branch:
                Eval(branch.Condition);
                var before = new Dictionary<ISymbol, Shape>(_state, SymbolEqualityComparer.Default);
                Statement(branch.Statement);
                var afterThen = _state;
                _state = before;
                Statement(branch.Else?.Statement);
                foreach (var key in afterThen.Keys.Union(_state.Keys, SymbolEqualityComparer.Default).ToList())
                {
                    afterThen.TryGetValue(key, out var a);
                    _state.TryGetValue(key, out var b);
                    _state[key] = a == b ? a : Shape.Unknown;
                }

                break;
        }
    }

    private void Loop(StatementSyntax body)
    {
        Statement(body);
        Statement(body);
    }

    private Shape Eval(ExpressionSyntax expression)
    {
        var model = _model;
        switch (expression)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return Eval(parenthesized.Expression);
            case IdentifierNameSyntax id:
                // Locals and parameters hold what was last assigned; anything else named (a type, a field, a
                // constant) lives outside the streams, so it is one stream where it is a tensor at all.
                return model.GetSymbolInfo(id, _ct).Symbol switch
                {
                    { } symbol when _state.TryGetValue(symbol, out var known) => known,
                    ILocalSymbol or IParameterSymbol or null => Shape.Unknown,
                    _ => Shape.Single,
                };
            case AssignmentExpressionSyntax assignment when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression):
                var value = Eval(assignment.Right);
                if (model.GetSymbolInfo(assignment.Left, _ct).Symbol is ILocalSymbol or IParameterSymbol)
                {
                    _state[model.GetSymbolInfo(assignment.Left, _ct).Symbol!] = value;
                }

                return value;
            case LambdaExpressionSyntax or AnonymousMethodExpressionSyntax:
                // A branch inside a hyper-connection sees one stream; its body is not part of this flow.
                return Shape.Unknown;
            case InvocationExpressionSyntax invocation:
                return Invocation(invocation);
            case LiteralExpressionSyntax or MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax }:
                return Shape.Unknown;
            default:
                return Combine(expression.ChildNodes().OfType<ExpressionSyntax>()
                    .Concat(expression.ChildNodes().OfType<ArgumentListSyntax>().SelectMany(l => l.Arguments).Select(a => a.Expression)));
        }
    }

    /// <summary>
    /// Any other expression over a stream tensor, or over a tensor whose shape is not known (a member of a
    /// block's output record), has an unknown shape; over single streams and constants, one stream, since
    /// outside hyper-connected blocks only Expand makes streams.
    /// </summary>
    private Shape Combine(IEnumerable<ExpressionSyntax> parts)
    {
        var shapes = parts.Where(p => !IsConstant(p)).Select(Eval).ToList();
        return shapes.All(s => s.Kind == ShapeKind.Single) ? Shape.Single : Shape.Unknown;
    }

    private static bool IsConstant(ExpressionSyntax expression)
        => expression is LiteralExpressionSyntax or DefaultExpressionSyntax or TypeOfExpressionSyntax
            or MemberAccessExpressionSyntax { Expression: ThisExpressionSyntax }
            || (expression is InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "nameof" } });

    private Shape Invocation(InvocationExpressionSyntax invocation)
    {
        var model = _model;
        var arguments = invocation.ArgumentList.Arguments;
        var method = model.GetSymbolInfo(invocation, _ct).Symbol as IMethodSymbol;
        if (method is not null && SymbolEqualityComparer.Default.Equals(method.ContainingType, _symbols.HyperStreams) && arguments.Count > 0)
        {
            var source = Eval(arguments[0].Expression);
            if (method.Name == "Expand")
            {
                var streams = arguments.Count > 1 ? (model.GetConstantValue(arguments[1].Expression, _ct) is { HasValue: true, Value: int count } ? count : (int?)null) : null;
                return new Shape(ShapeKind.Streams, (int?)streams, source.Kind == ShapeKind.Single ? source.CollapsedBy : null);
            }

            if (method.Name == "Run" && method.TypeArguments is [INamedTypeSymbol block] && _symbols.IsHyperConnected(block))
            {
                var entering = BlockInput(block, source, arguments[0].Expression, invocation);
                foreach (var other in arguments.Skip(1))
                {
                    if (other.Expression is ParenthesizedLambdaExpressionSyntax { ParameterList.Parameters: [_, var streams] } step)
                    {
                        return RunStep(step, streams, entering);
                    }

                    Eval(other.Expression);
                }

                return entering;
            }

            return method.Name == "Reduce" ? new Shape(ShapeKind.Single, CollapsedBy: invocation) : Shape.Unknown;
        }

        // Averaging, summing or selecting over the stream axis collapses the streams as Reduce does.
        if (invocation.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: var name } receiver
            && CollapsingMethods.Contains(name)
            && Eval(receiver.Expression).Kind == ShapeKind.Streams)
        {
            foreach (var argument in arguments)
            {
                Eval(argument.Expression);
            }

            return new Shape(ShapeKind.Single, CollapsedBy: invocation);
        }

        if (invocation.Expression is not MemberAccessExpressionSyntax { Name.Identifier.ValueText: "forward" or "call" } access
            || model.GetTypeInfo(access.Expression, _ct).Type is not INamedTypeSymbol module
            || !_symbols.IsModule(module)
            || arguments.Count == 0)
        {
            return Combine(invocation.ArgumentList.Arguments.Select(a => a.Expression)
                .Concat(invocation.Expression is MemberAccessExpressionSyntax member ? new[] { member.Expression } : Enumerable.Empty<ExpressionSyntax>()));
        }

        var input = Eval(arguments[0].Expression);
        foreach (var other in arguments.Skip(1))
        {
            Eval(other.Expression);
        }

        if (SymbolEqualityComparer.Default.Equals(module, _symbols.HyperConnection))
        {
            return input;
        }

        if (_symbols.IsHyperConnected(module))
        {
            // A block that takes its stream inside a tuple or an input record: the record's shape says nothing.
            var tensorInput = _symbols.IsTensor(model.GetTypeInfo(arguments[0].Expression, _ct).Type);
            var output = BlockInput(module, tensorInput ? input : Shape.Unknown, arguments[0].Expression, invocation);
            return _symbols.IsTensor(model.GetTypeInfo(invocation, _ct).Type) ? output : Shape.Unknown;
        }

        if (input.Kind == ShapeKind.Streams && _symbols.IsSequential(module))
        {
            // A Sequential of hyper-connected blocks takes the streams; what it holds is not followed here.
            return Shape.Unknown;
        }

        if (input.Kind == ShapeKind.Streams && _symbols.IsModuleBase(module))
        {
            // layers[i] of a ModuleList<Module<Tensor, Tensor>>: which module it holds is not known here.
            return Shape.Unknown;
        }

        if (input.Kind == ShapeKind.Streams && !module.Name.StartsWith("Dropout", System.StringComparison.Ordinal))
        {
            Report(ShapeFinding.StreamsToSingleStreamModule, arguments[0].Expression, arguments[0].Expression.ToString(), access.Expression.ToString());
            return Shape.Unknown;
        }

        return input.Kind == ShapeKind.Single ? Shape.Single : Shape.Unknown;
    }

    /// <summary>
    /// The step of <c>HyperStreams.Run(x, h, (block, streams) => ...)</c>: its second parameter holds the
    /// streams, and what it returns enters the next block. It is walked twice, like a loop body, so a
    /// collapse in the step meets the next block's call; the run returns what the step returns.
    /// </summary>
    private Shape RunStep(ParenthesizedLambdaExpressionSyntax step, ParameterSyntax streams, Shape entering)
    {
        if (_model.GetDeclaredSymbol(streams, _ct) is not { } parameter)
        {
            return entering;
        }

        var shape = entering;
        for (var pass = 0; pass < 2; pass++)
        {
            _state[parameter] = shape;
            var returned = StepResult(step);
            if (returned.Kind == ShapeKind.Unknown)
            {
                return entering;
            }

            shape = returned;
        }

        return shape;
    }

    private Shape StepResult(ParenthesizedLambdaExpressionSyntax step)
    {
        if (step.ExpressionBody is { } body)
        {
            return Eval(body);
        }

        if (step.Block is null)
        {
            return Shape.Unknown;
        }

        Statement(step.Block);
        // Returns of the step itself, not of lambdas nested in it.
        var returns = step.Block.DescendantNodes(node => node is not (LambdaExpressionSyntax or AnonymousMethodExpressionSyntax or LocalFunctionStatementSyntax))
            .OfType<ReturnStatementSyntax>().Where(r => r.Expression is not null).Select(r => Eval(r.Expression!)).Distinct().ToList();
        return returns.Count == 1 ? returns[0] : Shape.Unknown;
    }

    /// <summary>
    /// MHC1001–MHC1003 for streams entering a hyper-connected block, called directly or through
    /// <c>HyperStreams.Run</c>; the block's output has its stream count.
    /// </summary>
    private Shape BlockInput(INamedTypeSymbol block, Shape input, ExpressionSyntax argument, InvocationExpressionSyntax invocation)
    {
        var expected = StreamsOf(block);
        if (input.CollapsedBy is { } collapse)
        {
            Report(ShapeFinding.CollapsedInsideStack, collapse, collapse.ToString());
        }
        else if (input.Kind == ShapeKind.Single)
        {
            Report(ShapeFinding.InputNotExpanded, argument, block.Name, argument.ToString());
        }
        else if (input is { Kind: ShapeKind.Streams, Streams: { } actual } && actual != expected)
        {
            Report(ShapeFinding.StreamCountMismatch, invocation, actual, block.Name, expected);
        }

        return new Shape(ShapeKind.Streams, expected);
    }

    private void Report(ShapeFinding finding, SyntaxNode node, params object[] arguments)
    {
        if (_reported.Add((finding, node.Span)))
        {
            _report(finding, node, arguments);
        }
    }
}
