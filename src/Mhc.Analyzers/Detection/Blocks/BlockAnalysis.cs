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

namespace Mhc.Analyzers.Detection.Blocks;

/// <summary>Where a block's InitializeHyperConnections call goes, and the width it passes.</summary>
internal readonly record struct Initialization(ConstructorDeclarationSyntax Constructor, string Width, StatementSyntax? Before);

/// <summary>
/// The residual connections of one TorchSharp module class and whether the class converts as a whole:
/// which input is its residual stream, each site with its rewrite, how the stream leaves, and the width
/// its connections are built with. Shared by the analyzer (which reports), the code fix (which rewrites)
/// and the stack analysis (which needs the stream's way in and out).
/// </summary>
internal sealed class BlockAnalysis
{
    private BlockAnalysis(INamedTypeSymbol type, ClassDeclarationSyntax declaration, MethodDeclarationSyntax forward, SemanticModel model, FlowFacts facts)
    {
        Type = type;
        Declaration = declaration;
        Forward = forward;
        Model = model;
        Facts = facts;
    }

    public INamedTypeSymbol Type { get; }

    public ClassDeclarationSyntax Declaration { get; }

    public MethodDeclarationSyntax Forward { get; }

    public SemanticModel Model { get; }

    public FlowFacts Facts { get; }

    public ImmutableArray<ResidualSite> Sites { get; private set; } = ImmutableArray<ResidualSite>.Empty;

    /// <summary>Why the class as a whole cannot be converted, or null.</summary>
    public Problem? Problem { get; private set; }

    /// <summary>The input the residual connections run along.</summary>
    public StreamOrigin? Stream { get; private set; }

    /// <summary>How the final stream state leaves <c>forward</c>.</summary>
    public StreamExit Exit { get; private set; } = StreamExit.Unknown;

    /// <summary>The lambda parameter the branches take: <c>h</c> unless the class already uses that name.</summary>
    public string Parameter { get; private set; } = "h";

    /// <summary>Alias statements (<c>var residual = x;</c>) that disappear: the connection keeps the identity path.</summary>
    public ImmutableArray<StatementSyntax> DroppedAliases { get; private set; } = ImmutableArray<StatementSyntax>.Empty;

    public ImmutableArray<Initialization> Initializations { get; private set; } = ImmutableArray<Initialization>.Empty;

    public bool IsConvertible => Problem is null && !Sites.IsEmpty && Sites.All(s => s.Problem is null);

    /// <summary>The first problem of the block: its own, or one site's.</summary>
    public Problem? FirstProblem => Problem ?? Sites.Select(s => s.Problem).FirstOrDefault(p => p is not null);

    /// <summary>Returns null when the class has no residual-looking sum in its <c>forward</c>.</summary>
    /// <param name="channelsOption">Reads the analyzer-config width override for a class name, when one is given.</param>
    public static BlockAnalysis? Analyze(
        ClassDeclarationSyntax declaration,
        SemanticModel model,
        TorchSymbols symbols,
        System.Func<string, string?>? channelsOption,
        CancellationToken ct)
    {
        if (ModuleMembers.Forward(declaration) is not { } forward
            || model.GetDeclaredSymbol(declaration, ct) is not { } type)
        {
            return null;
        }

        var widths = new ModuleWidths(declaration, model, symbols, ct);
        var facts = StreamFlow.Analyze(forward, model, symbols, type, widths.ChangesWidth, ct);
        if (facts is null || facts.Sums.All(s => s.Kind == SumKind.None))
        {
            return null;
        }

        var analysis = new BlockAnalysis(type, declaration, forward, model, facts);
        new Planner(analysis, symbols, widths, channelsOption, ct).Run();
        return analysis;
    }

    /// <summary>Builds the sites and their rewrites, then checks the block as a whole.</summary>
    private sealed class Planner
    {
        private readonly BlockAnalysis _block;
        private readonly TorchSymbols _symbols;
        private readonly ModuleWidths _widths;
        private readonly System.Func<string, string?>? _channelsOption;
        private readonly CancellationToken _ct;
        private readonly SemanticModel _model;
        private readonly FlowFacts _facts;
        private readonly ILookup<SyntaxNode, StateRead> _readsBySyntax;
        private readonly List<ResidualSite> _sites = new();

        public Planner(BlockAnalysis block, TorchSymbols symbols, ModuleWidths widths, System.Func<string, string?>? channelsOption, CancellationToken ct)
        {
            _block = block;
            _symbols = symbols;
            _widths = widths;
            _channelsOption = channelsOption;
            _ct = ct;
            _model = block.Model;
            _facts = block.Facts;
            _readsBySyntax = _facts.Reads.ToLookup(r => r.Reference.Syntax);
        }

        public void Run()
        {
            foreach (var sum in _facts.Sums.Where(s => s.Kind != SumKind.None))
            {
                _sites.Add(new ResidualSite(sum));
            }

            _block.Parameter = FreshParameter();
            var residual = _sites.Where(s => s.Sum.Kind == SumKind.Residual).ToList();
            var origins = residual.Select(s => s.Consumed.Origin).Distinct().ToList();
            _block.Stream = origins.Count > 0 ? origins[0] : _sites[0].Consumed.Origin;
            if (origins.Count > 1)
            {
                _block.Problem = Reasons.StreamEscapes.With(
                    $"the block has residual connections along two inputs, '{origins[0].Display}' and '{origins[1].Display}'; one residual stream per block converts");
            }

            foreach (var site in _sites)
            {
                site.Problem = KindProblem(site);
            }

            foreach (var site in residual)
            {
                Range(site);
            }

            // The sums and the statements that compute their branches: an if that holds only these runs only connections.
            var connectionSyntax = new HashSet<SyntaxNode>(residual.Select(s => s.Node).Concat(residual.SelectMany(s => s.Moved)));
            foreach (var site in residual)
            {
                site.Problem ??= SiteChecks.Check(site, _block.Forward, connectionSyntax, _model, _symbols, _widths, _ct);
            }

            AssignNames();
            var uses = new StreamUses(_block, residual, _readsBySyntax, _ct);
            uses.Classify();
            foreach (var site in residual.Where(s => s.Problem is null))
            {
                new SitePlan(site, _block, _readsBySyntax, uses, _ct).Build();
            }

            // After the plans: a plan may keep an alias whose variable its call takes the streams from.
            _block.Exit = uses.Exit;
            _block.DroppedAliases = uses.DroppedAliases;

            _block.Problem ??= uses.Problem;
            _block.Sites = _sites.ToImmutableArray();
            BlockAsAWhole();
            if (_block.Problem is null && _block.Sites.All(s => s.Problem is null))
            {
                _block.Problem = Declaration() ?? Width();
            }
        }

        private static Problem? KindProblem(ResidualSite site) => site.Sum.Kind switch
        {
            SumKind.PostNormIdentity => Reasons.PostNorm.With(
                $"post-norm: '{site.Sum.Derived!.Member?.Name ?? "a norm"}' normalizes the previous residual sum, and this sum adds to the normalized tensor; a norm of n streams is not what the model computed"),
            SumKind.InnerIdentity => Reasons.InnerIdentity.With(
                $"the identity path is '{site.Sum.Derived!.Call.Syntax}', a module's output on the block's input, not the input itself"),
            SumKind.PostNormInputs => Reasons.PostNorm.With(
                $"post-norm: '{site.Node}' is normalized as it is summed, a residual connection whose branch comes from another module; a norm of n streams is not what the model computed"),
            SumKind.Unresolved => Reasons.StreamEscapes.With(
                $"the residual adds to '{site.Sum.Operands[site.Sum.IdentityIndex].Operand.Syntax}', which is no longer the block's residual stream here"
                + (LastChange(site) is { } change ? $": line {SyntaxQueries.Line(change)} changes it outside a residual connection ('{change.ToString().Trim()}')" : "")),
            SumKind.ProjectionShortcut => Reasons.ProjectionShortcut.With(
                $"projection or downsampling shortcut: the identity path runs '{site.Sum.Derived!.Member?.Name ?? site.Sum.Derived.Call.Syntax.ToString()}', so it is not an identity"),
            _ => null,
        };

        /// <summary>The last statement before the sum that assigns its identity operand's variable.</summary>
        private static StatementSyntax? LastChange(ResidualSite site)
        {
            var name = site.Sum.Operands[site.Sum.IdentityIndex].Operand.Syntax.ToString();
            var method = site.Node.FirstAncestorOrSelf<MethodDeclarationSyntax>();
            return method?.DescendantNodes().OfType<AssignmentExpressionSyntax>()
                .Where(a => a.Span.End <= site.Node.SpanStart && a.Left is IdentifierNameSyntax left && left.Identifier.ValueText == name)
                .Select(a => a.FirstAncestorOrSelf<StatementSyntax>())
                .LastOrDefault();
        }

        /// <summary>The statement list around the sum and the statements before it that compute the branch.</summary>
        private void Range(ResidualSite site)
        {
            var statement = site.Node.FirstAncestorOrSelf<StatementSyntax>();
            site.Statement = statement;
            var state = site.Consumed;
            if (statement?.Parent is not BlockSyntax list)
            {
                return;
            }

            var statements = list.Statements;
            var sumIndex = statements.IndexOf(statement);
            var start = 0;
            if (state.Producer is SumFact producer && producer.Syntax.FirstAncestorOrSelf<StatementSyntax>() is { } produced && statements.IndexOf(produced) is var index and >= 0)
            {
                start = index + 1;
            }

            var rangeStart = sumIndex;
            for (var i = start; i < sumIndex; i++)
            {
                if (ReadsState(statements[i], state) && !IsAliasOf(statements[i], state))
                {
                    rangeStart = i;
                    break;
                }
            }

            site.Moved = statements.Skip(rangeStart).Take(sumIndex - rangeStart).Where(s => !IsAliasOf(s, state)).ToImmutableArray();
        }

        private bool ReadsState(SyntaxNode node, StreamState state)
            => node.DescendantNodesAndSelf().Any(n => _readsBySyntax[n].Any(r => r.State == state));

        /// <summary><c>var residual = x;</c> or <c>residual = x;</c> (to a local) where x holds <paramref name="state"/>.</summary>
        private bool IsAliasOf(StatementSyntax statement, StreamState state)
            => statement.Parent is BlockSyntax
               && SyntaxQueries.SingleAssignment(statement) is { } assignment
               && _readsBySyntax[SyntaxQueries.AliasedValue(assignment.Value)].Any(r => r.State == state)
               && (assignment.Declares
                   || (statement is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax a } && _model.GetSymbolInfo(a.Left, _ct).Symbol is ILocalSymbol));

        private string FreshParameter()
        {
            var used = SyntaxQueries.IdentifiersIn(_block.Declaration);
            foreach (var candidate in new[] { "h", "s", "z", "stream" })
            {
                if (!used.Contains(candidate))
                {
                    return candidate;
                }
            }

            for (var i = 1; ; i++)
            {
                if (!used.Contains("stream" + i))
                {
                    return "stream" + i;
                }
            }
        }

        private void AssignNames()
        {
            var used = new HashSet<string>();
            foreach (var site in _sites)
            {
                site.BaseName = BranchName(site);
                var name = MhcDefaults.ConnectionPrefix + site.BaseName;
                for (var i = 2; !used.Add(name); i++)
                {
                    name = MhcDefaults.ConnectionPrefix + site.BaseName + "_" + i;
                }

                site.ConnectionName = name;
            }
        }

        /// <summary>
        /// The module each branch operand comes from, wrappers (norms, dropout, scales) left out: <c>attn</c>, <c>attn_mlp</c>
        /// for a parallel block. An operand that is a variable (<c>o.Hidden</c>, <c>h</c>) is named by the statement that computed it.
        /// </summary>
        private string BranchName(ResidualSite site)
        {
            var names = site.Sum.Branches
                .Select(b => OperandName(b.Operand.Syntax, site, site.Node.SpanStart, depth: 3))
                .Where(n => n is not null)
                .Distinct()
                .Take(2)
                .ToList();
            return names.Count == 0 ? "branch" : string.Join("_", names);
        }

        private string? OperandName(SyntaxNode operand, ResidualSite site, int before, int depth)
        {
            var modules = operand.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>()
                .Select(i => (Invocation: i, Type: ModuleCalls.ModuleType(i, _model, _symbols, _ct)))
                .Where(m => m.Type is not null || Helper(m.Invocation) is not null)
                .ToList();
            var main = modules.FirstOrDefault(m => m.Type is null
                || !Names.IsWrapper(_model.GetSymbolInfo(ModuleCalls.Receiver(m.Invocation)!, _ct).Symbol, m.Type));
            if (main.Invocation is not null)
            {
                // A helper method of the block (SelfAttention(ln_1(x))) names the branch as a module would.
                return main.Type is null ? Names.SnakeCase(Helper(main.Invocation)!.Name) : ReceiverName(main.Invocation);
            }

            if (depth > 0)
            {
                // The variable's last value before the sum: the statement of the branch that wrote it.
                foreach (var id in operand.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
                {
                    var symbol = _model.GetSymbolInfo(id, _ct).Symbol;
                    if (symbol is not (ILocalSymbol or IParameterSymbol))
                    {
                        continue;
                    }

                    var writer = site.Moved.Where(m => m.Span.End <= before).Reverse().Select(m => Written(m, symbol)).FirstOrDefault(v => v is not null);
                    if (writer is not null && OperandName(writer, site, writer.FirstAncestorOrSelf<StatementSyntax>()!.SpanStart, depth - 1) is { } name)
                    {
                        return name;
                    }
                }
            }

            return modules.Count > 0 ? (modules[0].Type is null ? Names.SnakeCase(Helper(modules[0].Invocation)!.Name) : ReceiverName(modules[0].Invocation)) : null;
        }

        /// <summary>The block's own instance method an invocation calls, if it is one.</summary>
        private IMethodSymbol? Helper(InvocationExpressionSyntax invocation)
            => _model.GetSymbolInfo(invocation, _ct).Symbol is IMethodSymbol { IsStatic: false, DeclaringSyntaxReferences.Length: > 0 } method
               && SymbolEqualityComparer.Default.Equals(method.ContainingType, _block.Type)
               && method.Name != "forward"
                ? method
                : null;

        /// <summary>The value a statement gives <paramref name="symbol"/>: an assignment's right side or a declaration's initializer.</summary>
        private ExpressionSyntax? Written(StatementSyntax statement, ISymbol symbol)
        {
            foreach (var node in statement.DescendantNodesAndSelf())
            {
                switch (node)
                {
                    case AssignmentExpressionSyntax assignment when assignment.Left.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>()
                        .Any(id => SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(id, _ct).Symbol, symbol)):
                        return assignment.Right;
                    case VariableDeclaratorSyntax { Initializer.Value: { } value } declarator when SymbolEqualityComparer.Default.Equals(_model.GetDeclaredSymbol(declarator, _ct), symbol):
                        return value;
                    case AssignmentExpressionSyntax { Left: DeclarationExpressionSyntax declaration } deconstruction when declaration.DescendantNodes().OfType<SingleVariableDesignationSyntax>()
                        .Any(d => SymbolEqualityComparer.Default.Equals(_model.GetDeclaredSymbol(d, _ct), symbol)):
                        return deconstruction.Right;
                }
            }

            return null;
        }

        private static string ReceiverName(InvocationExpressionSyntax invocation)
        {
            var name = ModuleCalls.Receiver(invocation) switch
            {
                IdentifierNameSyntax id => id.Identifier.ValueText,
                MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
                ElementAccessExpressionSyntax { Expression: IdentifierNameSyntax list } => list.Identifier.ValueText,
                ElementAccessExpressionSyntax { Expression: MemberAccessExpressionSyntax list } => list.Name.Identifier.ValueText,
                _ => "branch",
            };
            name = name.TrimStart('_');
            return name.Length == 0 ? "branch" : name;
        }

        /// <summary>A block converts as a whole: one site that cannot leaves the others as they are, with the reason.</summary>
        private void BlockAsAWhole()
        {
            var blocked = _block.Sites.FirstOrDefault(s => s.Problem is not null);
            if (blocked is null)
            {
                return;
            }

            foreach (var site in _block.Sites.Where(s => s.Problem is null))
            {
                site.Problem = blocked.Problem!.Reason.With(
                    $"the residual connection at line {SyntaxQueries.Line(blocked.Node)} cannot be converted ({blocked.Problem.Reason.Title}), and a block is converted as a whole");
            }
        }

        /// <summary>The generator adds the other half of a partial class: the class and every class around it must be in source.</summary>
        private Problem? Declaration()
        {
            for (var type = _block.Type; type is not null; type = type.ContainingType)
            {
                if (type.DeclaringSyntaxReferences.IsEmpty || type.TypeKind is not (TypeKind.Class or TypeKind.Struct))
                {
                    return Reasons.Declaration.With($"'{type.Name}' is not a class declared in source, so the generated half of '{_block.Type.Name}' cannot be added");
                }
            }

            if (!ModuleMembers.RootConstructors(_block.Type, _ct).Any())
            {
                var primary = _block.Type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)).OfType<ClassDeclarationSyntax>().Any(d => d.ParameterList is not null);
                return Reasons.Declaration.With(primary
                    ? $"'{_block.Type.Name}' is built by its primary constructor, which has no body where its connections would be created; give the class a constructor with a body instead"
                    : $"'{_block.Type.Name}' has no constructor with a body, where its connections would be created");
            }

            return null;
        }

        /// <summary>
        /// The modules whose input width is the stream's, in order: those a branch applies to the stream directly; then
        /// those applied to it through width-keeping functions (<c>mlp(functional.layer_norm(x, ...))</c>); then the first
        /// a helper method of the block applies to the stream it is given (<c>x + AttentionBranch(x)</c>).
        /// </summary>
        private IEnumerable<ISymbol> WidthCandidates(ResidualSite site)
        {
            foreach (var module in site.FirstModules.Where(m => m.Member is not null))
            {
                yield return module.Member!;
            }

            var nodes = site.Moved.Cast<SyntaxNode>().Concat(site.BranchOperands).ToList();
            foreach (var invocation in nodes.SelectMany(n => n.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>()).OrderBy(i => i.Span.End))
            {
                if (invocation.ArgumentList.Arguments.Count == 0 || !ReadsState(WidthKeeping(invocation.ArgumentList.Arguments[0].Expression), site.Consumed))
                {
                    continue;
                }

                if (ModuleCalls.ModuleType(invocation, _model, _symbols, _ct) is not null)
                {
                    if (_model.GetSymbolInfo(ModuleCalls.Receiver(invocation)!, _ct).Symbol is { Kind: SymbolKind.Field or SymbolKind.Property } member)
                    {
                        yield return member;
                    }
                }
                else if (_model.GetSymbolInfo(invocation, _ct).Symbol is IMethodSymbol { IsStatic: false, DeclaringSyntaxReferences: [var reference] } helper
                    && SymbolEqualityComparer.Default.Equals(helper.ContainingType, _block.Type)
                    && helper.Parameters.Length > 0
                    && reference.GetSyntax(_ct) is MethodDeclarationSyntax method
                    && FirstModuleOn(method, helper.Parameters[0]) is { } inner)
                {
                    yield return inner;
                }
            }
        }

        /// <summary>The member whose module a method applies first to one of its parameters (through width-keeping functions).</summary>
        private ISymbol? FirstModuleOn(MethodDeclarationSyntax method, IParameterSymbol parameter)
        {
            var model = method.SyntaxTree == _model.SyntaxTree ? _model : _model.Compilation.GetSemanticModel(method.SyntaxTree);
            var body = (SyntaxNode?)method.Body ?? method.ExpressionBody;
            foreach (var invocation in body?.DescendantNodes().OfType<InvocationExpressionSyntax>().OrderBy(i => i.Span.End) ?? Enumerable.Empty<InvocationExpressionSyntax>())
            {
                if (ModuleCalls.ModuleType(invocation, model, _symbols, _ct) is not null
                    && invocation.ArgumentList.Arguments.Count > 0
                    && WidthKeeping(invocation.ArgumentList.Arguments[0].Expression) is IdentifierNameSyntax argument
                    && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(argument, _ct).Symbol, parameter)
                    && model.GetSymbolInfo(ModuleCalls.Receiver(invocation)!, _ct).Symbol is { Kind: SymbolKind.Field or SymbolKind.Property } member)
                {
                    return member;
                }
            }

            return null;
        }

        /// <summary>The tensor a width-keeping function is applied to (<c>functional.layer_norm(x, ...)</c>, <c>gelu(x)</c>, <c>x.contiguous()</c>), else the expression.</summary>
        private ExpressionSyntax WidthKeeping(ExpressionSyntax expression)
        {
            var inner = SyntaxQueries.Innermost(expression);
            while (inner is InvocationExpressionSyntax call
                   && _model.GetSymbolInfo(call, _ct).Symbol is IMethodSymbol method
                   && method.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", System.StringComparison.Ordinal) == true
                   && Names.KeepsWidth(method.Name))
            {
                if (method.IsStatic && call.ArgumentList.Arguments.Count > 0)
                {
                    inner = SyntaxQueries.Innermost(call.ArgumentList.Arguments[0].Expression);
                }
                else if (!method.IsStatic && call.Expression is MemberAccessExpressionSyntax access)
                {
                    inner = SyntaxQueries.Innermost(access.Expression);
                }
                else
                {
                    break;
                }
            }

            return inner;
        }

        /// <summary>The width each constructor builds the connections with: from the first module a branch applies to the stream.</summary>
        private Problem? Width()
        {
            var constructors = ModuleMembers.RootConstructors(_block.Type, _ct).ToList();
            var overridden = _channelsOption?.Invoke(_block.Type.Name);
            var initializations = new List<Initialization>();
            foreach (var constructor in constructors)
            {
                var anchor = ModuleMembers.RegisterComponents(constructor);
                var width = overridden;
                if (width is not null && !_widths.IsValidWidth(width, constructor, anchor))
                {
                    return Reasons.WidthUnknown.With(
                        $"the width '{width}' named for '{_block.Type.Name}' ({MhcDefaults.ChannelsKeyPrefix}{_block.Type.Name}) is not an integer expression valid in its constructor at line {SyntaxQueries.Line(constructor)}; name a constructor parameter, a field or an expression of them");
                }

                if (width is null)
                {
                    foreach (var member in _block.Sites.SelectMany(WidthCandidates))
                    {
                        if (_widths.InputWidth(member, constructor, anchor) is { } found)
                        {
                            width = found;
                            break;
                        }
                    }
                }

                if (width is null)
                {
                    var first = _block.Sites.SelectMany(s => s.FirstModules).Select(m => m.Member?.Name).FirstOrDefault(n => n is not null);
                    return Reasons.WidthUnknown.With(
                        $"the channel width of '{_block.Type.Name}' is not known: " +
                        (first is null ? "no branch applies a module to the stream directly" : $"'{first}' is not built here from a width this analysis can follow") +
                        $"; name it with 'mhc_channels.{_block.Type.Name} = <width expression>' in .editorconfig or 'dotnet mhc convert --channels {_block.Type.Name}=<width expression>'");
                }

                initializations.Add(new Initialization(constructor, width, anchor));
            }

            _block.Initializations = initializations.ToImmutableArray();
            return null;
        }
    }
}
