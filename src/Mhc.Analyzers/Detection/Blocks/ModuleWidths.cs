using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using System.Threading;
using Mhc.Analyzers.Detection.Sites;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Detection.Blocks;

/// <summary>
/// Widths read from how a block builds its modules: the stream width a module expects (a TorchSharp
/// <c>LayerNorm(d)</c> or <c>Linear(d, ...)</c>, a project's own <c>RmsNorm(config.HiddenSize)</c> or
/// <c>Attention(config)</c> followed into its constructor and forward), written as an expression valid in the
/// block's constructor; and whether a branch changes the width (<c>Linear(d, 2 * d)</c>).
/// </summary>
internal sealed class ModuleWidths
{
    private const int MaxDepth = 4;

    /// <summary>The argument of each TorchSharp factory that gives the input width.</summary>
    private static readonly ImmutableDictionary<string, string> InputParameters = new Dictionary<string, string>
    {
        ["LayerNorm"] = "normalized_shape",
        ["Linear"] = "inputSize",
        ["GroupNorm"] = "num_channels",
        ["MultiheadAttention"] = "embedded_dim",
        ["BatchNorm1d"] = "num_features",
        ["Conv1d"] = "in_channels",
        ["Conv2d"] = "in_channels",
    }.ToImmutableDictionary();

    private static readonly ImmutableDictionary<string, (string In, string Out)> InOutParameters = new Dictionary<string, (string, string)>
    {
        ["Linear"] = ("inputSize", "outputSize"),
        ["Conv1d"] = ("in_channels", "out_channels"),
        ["Conv2d"] = ("in_channels", "out_channels"),
        ["Conv3d"] = ("in_channels", "out_channels"),
    }.ToImmutableDictionary();

    private readonly ClassDeclarationSyntax _class;
    private readonly System.Collections.Generic.List<ConstructorDeclarationSyntax> _constructors;
    private readonly SemanticModel _model;
    private readonly TorchSymbols _symbols;
    private readonly CancellationToken _ct;

    public ModuleWidths(ClassDeclarationSyntax @class, SemanticModel model, TorchSymbols symbols, CancellationToken ct)
    {
        _class = @class;
        _constructors = model.GetDeclaredSymbol(@class, ct) is { } type
            ? ModuleMembers.Constructors(type, ct).ToList()
            : @class.Members.OfType<ConstructorDeclarationSyntax>().ToList();
        _model = model;
        _symbols = symbols;
        _ct = ct;
    }

    /// <summary>
    /// True when the operation is known to change the stream's width: the out-width of its outermost
    /// <c>Linear</c> (or convolution) differs from the in-width of its innermost one, the one that reads the
    /// stream. An MLP <c>fc2(gelu(fc1(x)))</c> with <c>fc1 = Linear(d, 4d)</c>, <c>fc2 = Linear(4d, d)</c> keeps it.
    /// </summary>
    public bool ChangesWidth(IOperation operation)
    {
        var runs = new[] { operation }.Concat(operation.Descendants())
            .OfType<IInvocationOperation>()
            .Where(i => ModuleCalls.IsModuleRun(i, _symbols))
            .Select(i => InOut(i))
            .Where(w => w is not null)
            .ToList();
        if (runs.Count == 0)
        {
            return false;
        }

        var outer = runs[0]!.Value;
        var inner = runs[runs.Count - 1]!.Value;
        return WidthsDiffer(inner.In, outer.Out);
    }

    /// <summary>The in- and out-width arguments of the factory that built the module a run calls, if it is built in this class.</summary>
    private (ExpressionSyntax In, ExpressionSyntax Out)? InOut(IInvocationOperation run)
    {
        if (ModuleCalls.ReceiverMember(run) is not { } member || FindInClass(member) is not { } creation
            || _model.GetOperation(creation, _ct) is not IInvocationOperation factory
            || !IsTorchSharp(factory.TargetMethod)
            || !InOutParameters.TryGetValue(factory.TargetMethod.Name, out var names))
        {
            return null;
        }

        var input = Argument(factory, names.In);
        var output = Argument(factory, names.Out);
        return input is null || output is null ? null : (input, output);
    }

    /// <summary>The expression that builds a member, in any constructor of this class or its initializer.</summary>
    private ExpressionSyntax? FindInClass(ISymbol member)
    {
        // In any declaration of the class: a partial class may build its modules in another file.
        foreach (var constructor in _constructors)
        {
            if (Assigned(member, constructor, ModelOf(constructor)) is { } found)
            {
                return found;
            }
        }

        return Initializer(member);
    }

    /// <summary>The TorchSharp factory name (<c>Conv2d</c>) when a member is built by a channel-first module, directly or in a Sequential.</summary>
    public string? ChannelFirstConstruction(ISymbol member)
    {
        if (FindInClass(member) is not { } creation)
        {
            return null;
        }

        foreach (var invocation in creation.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>())
        {
            if (_model.GetSymbolInfo(invocation, _ct).Symbol is IMethodSymbol method && IsTorchSharp(method) && ModuleKinds.ChannelFirstModules.Contains(method.Name))
            {
                return method.Name;
            }
        }

        return null;
    }

    /// <summary>
    /// The stream width <paramref name="member"/> expects, as an expression valid in <paramref name="constructor"/> just
    /// before <paramref name="anchor"/> (or at the end of its body), or null when it cannot be told.
    /// </summary>
    public string? InputWidth(ISymbol member, ConstructorDeclarationSyntax constructor, StatementSyntax? anchor)
    {
        var scope = new Scope(ModelOf(constructor), ImmutableDictionary<IParameterSymbol, string>.Empty.WithComparers(SymbolEqualityComparer.Default), constructor, IsRoot: true);
        var position = Position(constructor, anchor);
        foreach (var inline in new[] { false, true })
        {
            var found = Construction(member, _class, scope);
            var text = found is null ? null : Width(found.Value.Creation, found.Value.Scope with { InlineLocals = inline }, MaxDepth);
            if (text is not null && IsValidWidth(text, ModelOf(constructor), position))
            {
                return text;
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="text"/> is an integer expression valid just before <paramref name="anchor"/> (or at the end of the constructor).</summary>
    public bool IsValidWidth(string text, ConstructorDeclarationSyntax constructor, StatementSyntax? anchor)
        => IsValidWidth(text, ModelOf(constructor), Position(constructor, anchor));

    /// <summary>
    /// Where the call goes: before the anchor, or after the body's last statement (inside the body, where its locals
    /// are in scope); for an expression body, where its expression is.
    /// </summary>
    private static int Position(ConstructorDeclarationSyntax constructor, StatementSyntax? anchor)
        => anchor?.SpanStart
           ?? (constructor.Body is null ? constructor.ExpressionBody!.Expression.SpanStart
               : constructor.Body.Statements.Count > 0 ? constructor.Body.Statements.Last().Span.End
               : constructor.Body.OpenBraceToken.Span.End);

    private bool IsValidWidth(string text, SemanticModel model, int position)
    {
        var expression = SyntaxFactory.ParseExpression(text);
        if (expression.ContainsDiagnostics)
        {
            return false;
        }

        var type = model.GetSpeculativeTypeInfo(position, expression, SpeculativeBindingOption.BindAsExpression).Type;
        return type?.SpecialType is SpecialType.System_Int32 or SpecialType.System_Int64 or SpecialType.System_Int16
            or SpecialType.System_UInt32 or SpecialType.System_UInt16 or SpecialType.System_Byte or SpecialType.System_SByte;
    }

    /// <summary>Where an expression is read: its tree's model, what the constructor's parameters stand for, and the constructor.</summary>
    private sealed record Scope(SemanticModel Model, ImmutableDictionary<IParameterSymbol, string> Bindings, ConstructorDeclarationSyntax? Constructor, bool IsRoot, bool InlineLocals = false);

    private string? Width(ExpressionSyntax creation, Scope scope, int depth)
    {
        if (depth == 0)
        {
            return null;
        }

        switch (ModuleCalls.Unwrap(scope.Model.GetOperation(creation, _ct)))
        {
            case IInvocationOperation factory when IsTorchSharp(factory.TargetMethod):
                if (factory.TargetMethod.Name == "Sequential")
                {
                    // The first module of a Sequential reads the stream.
                    var first = factory.Arguments.SelectMany(a => a.Value is IArrayCreationOperation { Initializer: { } array } ? array.ElementValues : ImmutableArray.Create(a.Value)).FirstOrDefault();
                    var module = ModuleCalls.Unwrap(first) is ITupleOperation { Elements.Length: 2 } named ? named.Elements[1] : first;
                    return module?.Syntax is ExpressionSyntax expression ? Width(expression, scope, depth - 1) : null;
                }

                if (!InputParameters.TryGetValue(factory.TargetMethod.Name, out var parameter) || Argument(factory, parameter) is not { } width)
                {
                    return null;
                }

                return Render(ShapeElement(width), scope);
            case IObjectCreationOperation { Constructor: { } constructor } created when _symbols.IsModule(created.Type):
                return ModuleInputWidth(constructor, created.Arguments, scope, depth - 1);
            case IInvocationOperation { TargetMethod: { } helper } call when !helper.DeclaringSyntaxReferences.IsEmpty && _symbols.IsModule(helper.ReturnType):
                // A factory method of the project's: Normalize(ch) => GroupNorm(32, ch).
                if (helper.DeclaringSyntaxReferences[0].GetSyntax(_ct) is MethodDeclarationSyntax method
                    && (method.ExpressionBody?.Expression ?? method.Body?.Statements.OfType<ReturnStatementSyntax>().SingleOrDefault()?.Expression) is { } returned)
                {
                    var bindings = Bind(helper.Parameters, call.Arguments, scope);
                    return bindings is null ? null : Width(returned, new Scope(ModelOf(method), bindings, null, IsRoot: false), depth - 1);
                }

                return null;
            default:
                return null;
        }
    }

    /// <summary>The width a project's own module expects: what its forward applies first to its input, or the size of its weight.</summary>
    private string? ModuleInputWidth(IMethodSymbol constructor, ImmutableArray<IArgumentOperation> arguments, Scope caller, int depth)
    {
        if (constructor.DeclaringSyntaxReferences.IsEmpty
            || constructor.DeclaringSyntaxReferences[0].GetSyntax(_ct) is not ConstructorDeclarationSyntax declaration
            || declaration.Parent is not TypeDeclarationSyntax type
            || Bind(constructor.Parameters, arguments, caller) is not { } bindings)
        {
            return null;
        }

        var model = ModelOf(declaration);
        var scope = new Scope(model, bindings, declaration, IsRoot: false);
        if (ModuleMembers.Forward(type) is { } forward && FirstModuleOnInput(forward, model) is { } member
            && Construction(member, type, scope) is { } found
            && Width(found.Creation, found.Scope, depth) is { } width)
        {
            return width;
        }

        // A hand-written norm: weight = Parameter(torch.ones(d)).
        foreach (var invocation in ConstructorChain(scope).SelectMany(s => s.Constructor!.DescendantNodes().OfType<InvocationExpressionSyntax>().Select(i => (i, s))))
        {
            if (invocation.s.Model.GetSymbolInfo(invocation.i, _ct).Symbol is IMethodSymbol { Name: "ones" or "zeros" or "empty" or "randn" or "rand" } filler
                && IsTorchSharp(filler)
                && invocation.i.ArgumentList.Arguments.Count > 0
                && invocation.i.Ancestors().TakeWhile(a => a is not StatementSyntax).OfType<InvocationExpressionSyntax>()
                    .Any(p => invocation.s.Model.GetSymbolInfo(p, _ct).Symbol is IMethodSymbol { Name: "Parameter" }))
            {
                return Render(ShapeElement(invocation.i.ArgumentList.Arguments[0].Expression), invocation.s);
            }
        }

        return null;
    }

    /// <summary>The member whose module forward runs first on its first tensor parameter (or input member).</summary>
    private ISymbol? FirstModuleOnInput(MethodDeclarationSyntax forward, SemanticModel model)
    {
        var input = forward.ParameterList.Parameters.FirstOrDefault();
        if (input is null || model.GetDeclaredSymbol(input, _ct) is not { } parameter)
        {
            return null;
        }

        var body = (SyntaxNode?)forward.Body ?? forward.ExpressionBody;
        foreach (var invocation in body?.DescendantNodes().OfType<InvocationExpressionSyntax>().OrderBy(i => i.Span.End) ?? Enumerable.Empty<InvocationExpressionSyntax>())
        {
            if (ModuleCalls.Receiver(invocation) is not { } receiver
                || invocation.ArgumentList.Arguments.Count == 0
                || !ReadsParameter(invocation.ArgumentList.Arguments[0].Expression, parameter, model))
            {
                continue;
            }

            var member = model.GetSymbolInfo(receiver, _ct).Symbol;
            if (member is IFieldSymbol or IPropertySymbol && _symbols.IsModule(model.GetTypeInfo(receiver, _ct).Type))
            {
                return member;
            }
        }

        return null;
    }

    private bool ReadsParameter(ExpressionSyntax argument, IParameterSymbol parameter, SemanticModel model)
    {
        var inner = SyntaxQueries.Innermost(argument);
        var target = inner is MemberAccessExpressionSyntax { Expression: var instance } ? instance : inner;
        return SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(target, _ct).Symbol, parameter);
    }

    /// <summary>The expression that builds <paramref name="member"/>: in the scope's constructor or one it hands over to, or the member's initializer.</summary>
    private (ExpressionSyntax Creation, Scope Scope)? Construction(ISymbol member, TypeDeclarationSyntax type, Scope scope)
    {
        foreach (var link in ConstructorChain(scope))
        {
            if (Assigned(member, link.Constructor!, link.Model) is { } found)
            {
                return (found, link);
            }
        }

        foreach (var declaration in member.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)))
        {
            var initializer = declaration switch
            {
                VariableDeclaratorSyntax variable => variable.Initializer?.Value,
                PropertyDeclarationSyntax property => property.Initializer?.Value,
                _ => null,
            };
            if (initializer is not null)
            {
                return (initializer, scope with { Model = ModelOf(declaration), Constructor = null });
            }
        }

        return null;
    }

    /// <summary>The scope's constructor, then each one it hands over to with <c>: this(...)</c>, with their parameters bound.</summary>
    private IEnumerable<Scope> ConstructorChain(Scope scope)
    {
        for (var current = scope; current?.Constructor is { } constructor; )
        {
            yield return current;
            if (constructor.Initializer is not { } initializer || !initializer.ThisOrBaseKeyword.IsKind(SyntaxKind.ThisKeyword)
                || current.Model.GetOperation(initializer, _ct) is not { } operation
                || operation.DescendantsAndSelf().OfType<IInvocationOperation>().FirstOrDefault() is not { TargetMethod: var target } call
                || target.DeclaringSyntaxReferences.IsEmpty
                || target.DeclaringSyntaxReferences[0].GetSyntax(_ct) is not ConstructorDeclarationSyntax next
                || Bind(target.Parameters, call.Arguments, current) is not { } bindings)
            {
                yield break;
            }

            current = new Scope(ModelOf(next), bindings, next, IsRoot: false, current.InlineLocals);
        }
    }

    private static ExpressionSyntax? Assigned(ISymbol member, ConstructorDeclarationSyntax constructor, SemanticModel model)
    {
        var body = (SyntaxNode?)constructor.Body ?? constructor.ExpressionBody;
        foreach (var assignment in body?.DescendantNodes().OfType<AssignmentExpressionSyntax>() ?? Enumerable.Empty<AssignmentExpressionSyntax>())
        {
            if (assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
                && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(assignment.Left).Symbol, member))
            {
                return assignment.Right;
            }
        }

        return null;
    }

    private ExpressionSyntax? Initializer(ISymbol member)
        => member.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)).Select(d => d switch
        {
            VariableDeclaratorSyntax variable => variable.Initializer?.Value,
            PropertyDeclarationSyntax property => property.Initializer?.Value,
            _ => null,
        }).FirstOrDefault(e => e is not null);

    /// <summary>What each parameter of a called constructor or method stands for, as text in the caller's scope.</summary>
    private ImmutableDictionary<IParameterSymbol, string>? Bind(ImmutableArray<IParameterSymbol> parameters, ImmutableArray<IArgumentOperation> arguments, Scope caller)
    {
        var bindings = ImmutableDictionary.CreateBuilder<IParameterSymbol, string>(SymbolEqualityComparer.Default);
        foreach (var argument in arguments)
        {
            if (argument.Parameter is null)
            {
                continue;
            }

            var parameter = parameters.FirstOrDefault(p => p.Ordinal == argument.Parameter.Ordinal) ?? argument.Parameter;
            string? text = argument.ArgumentKind == ArgumentKind.DefaultValue
                ? argument.Parameter.HasExplicitDefaultValue ? Constant(argument.Parameter.ExplicitDefaultValue) : null
                : argument.Value.Syntax is ExpressionSyntax value ? Render(value, caller) : null;
            if (text is not null)
            {
                bindings[parameter] = text;
            }
        }

        return bindings.ToImmutable();
    }

    private static string? Constant(object? value) => value switch
    {
        int or long or short or byte => System.Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>
    /// The expression as text in the root constructor's terms: parameters of the constructors it came through are
    /// replaced by what they were given; outside the block's own constructor, members and locals cannot be named.
    /// </summary>
    private string? Render(ExpressionSyntax expression, Scope scope)
    {
        var text = new StringBuilder();
        var failed = false;
        void Append(SyntaxNode node)
        {
            if (failed)
            {
                return;
            }

            if (node is IdentifierNameSyntax id && !(id.Parent is MemberAccessExpressionSyntax access && access.Name == id))
            {
                var symbol = scope.Model.GetSymbolInfo(id, _ct).Symbol;
                switch (symbol)
                {
                    case IParameterSymbol parameter when scope.Bindings.TryGetValue(parameter, out var bound):
                        text.Append(Parenthesize(bound));
                        return;
                    case IParameterSymbol when !scope.IsRoot:
                        failed = true;
                        return;
                    case ILocalSymbol local when !scope.IsRoot || scope.InlineLocals:
                        if (SingleInitializer(local) is { } initializer && Render(initializer, scope) is { } inlined)
                        {
                            text.Append(Parenthesize(inlined));
                            return;
                        }

                        failed = true;
                        return;
                    case IFieldSymbol { IsConst: true } or IFieldSymbol { IsStatic: true } or IPropertySymbol { IsStatic: true } when !scope.IsRoot:
                        text.Append(symbol.ContainingType.ToDisplayString()).Append('.').Append(symbol.Name);
                        return;
                    case IFieldSymbol or IPropertySymbol when !scope.IsRoot:
                        failed = true;
                        return;
                }
            }

            if (node is ThisExpressionSyntax && !scope.IsRoot)
            {
                failed = true;
                return;
            }

            foreach (var child in node.ChildNodesAndTokens())
            {
                if (child.IsNode)
                {
                    Append(child.AsNode()!);
                }
                else
                {
                    text.Append(child.AsToken().ToFullString());
                }
            }
        }

        Append(expression);
        return failed ? null : text.ToString().Trim();
    }

    private ExpressionSyntax? SingleInitializer(ILocalSymbol local)
        => local.DeclaringSyntaxReferences.Length == 1
           && local.DeclaringSyntaxReferences[0].GetSyntax(_ct) is VariableDeclaratorSyntax { Initializer.Value: { } value }
            ? value
            : null;

    private static string Parenthesize(string text)
        => SyntaxFactory.ParseExpression(text) is IdentifierNameSyntax or MemberAccessExpressionSyntax or LiteralExpressionSyntax or InvocationExpressionSyntax or ParenthesizedExpressionSyntax
            ? text
            : "(" + text + ")";

    /// <summary><c>new long[] { d }</c>, <c>new[] { d }</c>, <c>[d]</c>: the last dimension of a normalized shape.</summary>
    private static ExpressionSyntax ShapeElement(ExpressionSyntax width) => SyntaxQueries.Innermost(width) switch
    {
        ArrayCreationExpressionSyntax { Initializer.Expressions: [.., var last] } => last,
        ImplicitArrayCreationExpressionSyntax { Initializer.Expressions: [.., var last] } => last,
        CollectionExpressionSyntax { Elements: [.., ExpressionElementSyntax last] } => last.Expression,
        _ => width,
    };

    private static ExpressionSyntax? Argument(IInvocationOperation factory, string parameter)
        => factory.Arguments.FirstOrDefault(a => a.Parameter?.Name == parameter && a.ArgumentKind != ArgumentKind.DefaultValue)?.Value.Syntax as ExpressionSyntax;

    private static bool IsTorchSharp(IMethodSymbol method)
        => method.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", System.StringComparison.Ordinal) == true;

    private SemanticModel ModelOf(SyntaxNode node)
        => node.SyntaxTree == _model.SyntaxTree ? _model : _model.Compilation.GetSemanticModel(node.SyntaxTree);

    /// <summary>True when a connection's width is known to differ from a width this class reads off a module.</summary>
    public bool Differs(ExpressionSyntax channels, string width) => WidthsDiffer(channels, SyntaxFactory.ParseExpression(width));

    /// <summary>True when two widths are known to differ: different constants, or <c>k * d</c> against <c>d</c>.</summary>
    private bool WidthsDiffer(ExpressionSyntax first, ExpressionSyntax second)
    {
        if (ConstantOf(first) is { } a && ConstantOf(second) is { } b)
        {
            return a != b;
        }

        return IsMultipleOf(second, first) || IsMultipleOf(first, second);
    }

    /// <summary><c>k * d</c> or <c>d * k</c> with a constant k other than 1.</summary>
    private bool IsMultipleOf(ExpressionSyntax product, ExpressionSyntax width)
    {
        if (SyntaxQueries.Innermost(product) is not BinaryExpressionSyntax multiply || !multiply.IsKind(SyntaxKind.MultiplyExpression))
        {
            return false;
        }

        return (ConstantOf(multiply.Left) is { } k && k != 1 && SyntaxFactory.AreEquivalent(multiply.Right, width))
            || (ConstantOf(multiply.Right) is { } j && j != 1 && SyntaxFactory.AreEquivalent(multiply.Left, width));
    }

    private long? ConstantOf(ExpressionSyntax expression)
    {
        object? value = SyntaxQueries.Innermost(expression) is LiteralExpressionSyntax literal ? literal.Token.Value
            : _model.Compilation.ContainsSyntaxTree(expression.SyntaxTree) && ModelOf(expression).GetConstantValue(expression, _ct) is { HasValue: true } constant ? constant.Value
            : null;
        return value is int or long or short or byte or uint or ushort or sbyte
            ? System.Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture)
            : null;
    }
}
