using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Detection;

/// <summary>
/// The residual connections of one TorchSharp module class and whether the class can be converted as a
/// whole. Shared by the analyzer (which reports) and the code fix (which rewrites), so both always agree
/// on what a site is.
/// </summary>
internal sealed class BlockAnalysis
{
    private BlockAnalysis(ClassDeclarationSyntax declaration, ImmutableArray<ResidualSite> sites)
    {
        Declaration = declaration;
        Sites = sites;
    }

    public ClassDeclarationSyntax Declaration { get; }

    public ImmutableArray<ResidualSite> Sites { get; }

    /// <summary>Why the class as a whole cannot be converted, or null.</summary>
    public string? Problem { get; private set; }

    /// <summary>The channel width, as written in the constructor that builds the first module on the identity path.</summary>
    public ExpressionSyntax? Channels { get; private set; }

    /// <summary>The <c>RegisterComponents()</c> statement of the constructor <see cref="Channels"/> comes from.</summary>
    public ExpressionStatementSyntax? RegisterComponents { get; private set; }

    public bool IsConvertible => Problem is null && Sites.All(s => s.Problem is null);

    /// <summary>Returns null when the class has no residual connection in an overridden <c>forward</c>.</summary>
    public static BlockAnalysis? Analyze(
        ClassDeclarationSyntax declaration,
        SemanticModel model,
        TorchSymbols symbols,
        CancellationToken cancellationToken)
    {
        var forward = declaration.Members
            .OfType<MethodDeclarationSyntax>()
            .FirstOrDefault(m => m.Identifier.ValueText == "forward" && m.Modifiers.Any(SyntaxKind.OverrideKeyword));
        var body = (SyntaxNode?)forward?.Body ?? forward?.ExpressionBody;
        if (forward is null || body is null)
        {
            return null;
        }

        var finder = new SiteFinder(declaration, model, symbols, body, cancellationToken);
        var sites = finder.FindSites();
        if (sites.IsEmpty)
        {
            return null;
        }

        var analysis = new BlockAnalysis(declaration, sites);
        AssignNames(sites);
        finder.CheckSites(sites);
        var blocked = sites.FirstOrDefault(s => s.Problem is not null);
        if (blocked is not null)
        {
            // A block converts as a whole: one unsafe site leaves the others as they are too.
            analysis.Problem = $"the residual connection at line {SiteFinder.Line(blocked.Node)} cannot be converted, and a block is converted as a whole";
            return analysis;
        }

        analysis.Problem = finder.CheckClass(sites, out var channels, out var register);
        analysis.Channels = channels;
        analysis.RegisterComponents = register;
        return analysis;
    }

    private static void AssignNames(ImmutableArray<ResidualSite> sites)
    {
        // The generator declares a field for every hc_* connection the class uses, so the prefix is shared with it.
        const string prefix = Generator.HyperConnectionGenerator.Parser.ConnectionPrefix;
        var used = new HashSet<string>();
        foreach (var site in sites)
        {
            var name = prefix + site.BaseName;
            for (var i = 2; !used.Add(name); i++)
            {
                name = prefix + site.BaseName + "_" + i;
            }

            site.ConnectionName = name;
        }
    }

    private sealed class SiteFinder
    {
        private readonly ClassDeclarationSyntax _class;
        private readonly SemanticModel _model;
        private readonly TorchSymbols _symbols;
        private readonly SyntaxNode _body;
        private readonly CancellationToken _ct;

        public SiteFinder(ClassDeclarationSyntax @class, SemanticModel model, TorchSymbols symbols, SyntaxNode body, CancellationToken ct)
        {
            _class = @class;
            _model = model;
            _symbols = symbols;
            _body = body;
            _ct = ct;
        }

        public ImmutableArray<ResidualSite> FindSites()
        {
            var sites = ImmutableArray.CreateBuilder<ResidualSite>();

            // Lambdas and local functions have their own tensors; their sums are not the block's residual stream.
            foreach (var node in _body.DescendantNodesAndSelf(n => n is not (AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)))
            {
                _ct.ThrowIfCancellationRequested();
                var site = node switch
                {
                    BinaryExpressionSyntax binary when binary.IsKind(SyntaxKind.AddExpression) => FromSum(binary),
                    AssignmentExpressionSyntax assignment when assignment.IsKind(SyntaxKind.AddAssignmentExpression) => FromCompoundAssignment(assignment),
                    InvocationExpressionSyntax invocation => FromAddCall(invocation),
                    _ => null,
                };
                if (site is not null)
                {
                    sites.Add(site);
                }
            }

            return sites.ToImmutable();
        }

        private ResidualSite? FromSum(BinaryExpressionSyntax binary)
        {
            // Only the top of a chain `a + b + c` is a candidate: a parallel block is one site.
            if (binary.Parent is BinaryExpressionSyntax parent && parent.IsKind(SyntaxKind.AddExpression) && parent.Left == binary)
            {
                return null;
            }

            if (!_symbols.IsTensor(_model.GetTypeInfo(binary, _ct).Type))
            {
                return null;
            }

            var operands = new List<ExpressionSyntax>();
            ExpressionSyntax current = binary;
            while (current is BinaryExpressionSyntax add && add.IsKind(SyntaxKind.AddExpression))
            {
                operands.Add(add.Right);
                current = add.Left;
            }

            operands.Add(current);
            operands.Reverse();

            foreach (var candidate in operands)
            {
                var identity = IdentitySymbol(candidate);
                if (identity is null)
                {
                    continue;
                }

                var branches = operands.Where(o => o != candidate).ToImmutableArray();
                var site = TryCreate(binary, identity, branches);
                if (site is not null)
                {
                    return site;
                }
            }

            return null;
        }

        private ResidualSite? FromCompoundAssignment(AssignmentExpressionSyntax assignment)
        {
            var identity = IdentitySymbol(assignment.Left);
            return identity is null ? null : TryCreate(assignment, identity, ImmutableArray.Create(assignment.Right));
        }

        private ResidualSite? FromAddCall(InvocationExpressionSyntax invocation)
        {
            if (invocation.Expression is not MemberAccessExpressionSyntax { Name.Identifier.ValueText: "add" or "add_" } access
                || _model.GetSymbolInfo(invocation, _ct).Symbol is not IMethodSymbol method)
            {
                return null;
            }

            var arguments = invocation.ArgumentList.Arguments;
            if (!method.IsStatic && arguments.Count == 1 && _symbols.IsTensor(method.ContainingType))
            {
                // x.add(F(x)) and the in-place x.add_(F(x)); an alpha argument would scale the branch, so it is not matched.
                var identity = IdentitySymbol(access.Expression);
                return identity is null ? null : TryCreate(invocation, identity, ImmutableArray.Create(arguments[0].Expression));
            }

            if (method.IsStatic && arguments.Count == 2 && SymbolEqualityComparer.Default.Equals(method.ContainingType, _symbols.Torch))
            {
                for (var i = 0; i < 2; i++)
                {
                    var identity = IdentitySymbol(arguments[i].Expression);
                    var site = identity is null ? null : TryCreate(invocation, identity, ImmutableArray.Create(arguments[1 - i].Expression));
                    if (site is not null)
                    {
                        return site;
                    }
                }
            }

            return null;
        }

        /// <summary>A tensor local or parameter named on its own: the only form an identity path takes.</summary>
        private ISymbol? IdentitySymbol(ExpressionSyntax expression)
        {
            while (expression is ParenthesizedExpressionSyntax parenthesized)
            {
                expression = parenthesized.Expression;
            }

            if (expression is not IdentifierNameSyntax)
            {
                return null;
            }

            var symbol = _model.GetSymbolInfo(expression, _ct).Symbol;
            return symbol switch
            {
                ILocalSymbol local when _symbols.IsTensor(local.Type) => local,
                IParameterSymbol parameter when _symbols.IsTensor(parameter.Type) => parameter,
                _ => null,
            };
        }

        private ResidualSite? TryCreate(SyntaxNode node, ISymbol identity, ImmutableArray<ExpressionSyntax> branches)
        {
            var derived = DerivedLocals(identity, node.SpanStart);
            var moved = new List<LocalDeclarationStatementSyntax>();
            var names = new List<string>();
            foreach (var branch in branches)
            {
                var main = MainModuleCall(branch);
                if (main is null || !DependsOn(branch, identity, derived, moved) || ChangesWidth(main))
                {
                    return null;
                }

                names.Add(ReceiverName(main));
            }

            return new ResidualSite(
                node,
                identity,
                branches,
                moved.Distinct().OrderBy(s => s.SpanStart).ToImmutableArray(),
                string.Join("_", names.Distinct()),
                ShapeOf(node, identity));
        }

        /// <summary>Locals declared before <paramref name="position"/> whose value is computed from the identity.</summary>
        private Dictionary<ILocalSymbol, LocalDeclarationStatementSyntax> DerivedLocals(ISymbol identity, int position)
        {
            var derived = new Dictionary<ILocalSymbol, LocalDeclarationStatementSyntax>(SymbolEqualityComparer.Default);
            foreach (var statement in _body.DescendantNodes().OfType<LocalDeclarationStatementSyntax>())
            {
                if (statement.SpanStart >= position || statement.Declaration.Variables.Count != 1)
                {
                    continue;
                }

                var declarator = statement.Declaration.Variables[0];
                if (declarator.Initializer is null || _model.GetDeclaredSymbol(declarator, _ct) is not ILocalSymbol local)
                {
                    continue;
                }

                var readsIdentity = declarator.Initializer.Value.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id =>
                {
                    var symbol = _model.GetSymbolInfo(id, _ct).Symbol;
                    return SymbolEqualityComparer.Default.Equals(symbol, identity)
                        || (symbol is ILocalSymbol l && derived.ContainsKey(l));
                });
                if (readsIdentity)
                {
                    derived[local] = statement;
                }
            }

            return derived;
        }

        private bool DependsOn(
            ExpressionSyntax branch,
            ISymbol identity,
            Dictionary<ILocalSymbol, LocalDeclarationStatementSyntax> derived,
            List<LocalDeclarationStatementSyntax> moved)
        {
            var depends = false;
            foreach (var id in branch.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
            {
                var symbol = _model.GetSymbolInfo(id, _ct).Symbol;
                if (SymbolEqualityComparer.Default.Equals(symbol, identity))
                {
                    depends = true;
                }
                else if (symbol is ILocalSymbol local && derived.TryGetValue(local, out var statement))
                {
                    depends = true;
                    AddWithDependencies(statement, derived, moved);
                }
            }

            return depends;
        }

        private void AddWithDependencies(
            LocalDeclarationStatementSyntax statement,
            Dictionary<ILocalSymbol, LocalDeclarationStatementSyntax> derived,
            List<LocalDeclarationStatementSyntax> moved)
        {
            if (moved.Contains(statement))
            {
                return;
            }

            moved.Add(statement);
            foreach (var id in statement.Declaration.Variables[0].Initializer!.Value.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
            {
                if (_model.GetSymbolInfo(id, _ct).Symbol is ILocalSymbol local && derived.TryGetValue(local, out var inner))
                {
                    AddWithDependencies(inner, derived, moved);
                }
            }
        }

        private static SiteShape ShapeOf(SyntaxNode node, ISymbol identity)
        {
            if (node is AssignmentExpressionSyntax)
            {
                return node.Parent is ExpressionStatementSyntax ? SiteShape.CompoundAssignment : SiteShape.Nested;
            }

            if (node is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "add_" } })
            {
                return node.Parent is ExpressionStatementSyntax ? SiteShape.InPlace : SiteShape.Nested;
            }

            var outer = Unparenthesized(node);
            return outer.Parent switch
            {
                EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax } => SiteShape.Value,
                AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax } assignment
                    when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression) && assignment.Right == outer => SiteShape.Value,
                ReturnStatementSyntax => SiteShape.Value,
                ArrowExpressionClauseSyntax { Parent: MethodDeclarationSyntax } => SiteShape.Value,
                ArgumentSyntax { Parent.Parent: InvocationExpressionSyntax } => SiteShape.PostNorm,
                _ => SiteShape.Nested,
            };
        }

        /// <summary>The outermost module call of a branch other than dropout, which names the branch.</summary>
        private InvocationExpressionSyntax? MainModuleCall(ExpressionSyntax branch)
        {
            InvocationExpressionSyntax? first = null;
            foreach (var invocation in branch.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>())
            {
                var receiver = ModuleReceiverType(invocation);
                if (receiver is null)
                {
                    continue;
                }

                first ??= invocation;
                if (!receiver.Name.StartsWith("Dropout", System.StringComparison.Ordinal))
                {
                    return invocation;
                }
            }

            return first;
        }

        /// <summary>The module type when the invocation is <c>m.forward(...)</c> or <c>m.call(...)</c> on a TorchSharp module.</summary>
        public ITypeSymbol? ModuleReceiverType(InvocationExpressionSyntax invocation)
        {
            if (invocation.Expression is not MemberAccessExpressionSyntax { Name.Identifier.ValueText: "forward" or "call" } access)
            {
                return null;
            }

            var type = _model.GetTypeInfo(access.Expression, _ct).Type;
            return _symbols.IsModule(type) ? type : null;
        }

        private static string ReceiverName(InvocationExpressionSyntax call)
        {
            var receiver = ((MemberAccessExpressionSyntax)call.Expression).Expression;
            var name = receiver switch
            {
                IdentifierNameSyntax id => id.Identifier.ValueText,
                MemberAccessExpressionSyntax member => member.Name.Identifier.ValueText,
                ElementAccessExpressionSyntax { Expression: IdentifierNameSyntax list } => list.Identifier.ValueText,
                _ => "branch",
            };
            name = name.TrimStart('_');
            return name.Length == 0 ? "branch" : name;
        }

        /// <summary>The field or property a module call is made on, when it is a member of this class.</summary>
        private ISymbol? ReceiverMember(InvocationExpressionSyntax call)
        {
            var receiver = ((MemberAccessExpressionSyntax)call.Expression).Expression;
            var symbol = _model.GetSymbolInfo(receiver, _ct).Symbol;
            return symbol is IFieldSymbol or IPropertySymbol ? symbol : null;
        }

        /// <summary>
        /// True when the branch is known to change the stream's width: the out-width of its outermost
        /// <c>Linear</c> differs from the in-width of its innermost one, the one that reads the stream
        /// (for a single <c>Linear(a, b)</c>: a ≠ b). An MLP such as <c>fc2(gelu(fc1(x)))</c> with
        /// <c>fc1 = Linear(d, 4d)</c>, <c>fc2 = Linear(4d, d)</c> keeps the width.
        /// </summary>
        private bool ChangesWidth(InvocationExpressionSyntax main)
        {
            var outer = LinearConstruction(main);
            if (outer is null) return false;
            var inner = main.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>()
                .Select(LinearConstruction).LastOrDefault(c => c is not null) ?? outer;
            var outArguments = outer.ArgumentList.Arguments;
            var inArguments = inner.ArgumentList.Arguments;
            return outArguments.Count >= 2 && inArguments.Count >= 1
                && ModuleConstruction.WidthsDiffer(_model, inArguments[0].Expression, outArguments[1].Expression, _ct);
        }

        /// <summary>The <c>Linear(...)</c> factory call that built the module <paramref name="call"/> invokes, if known.</summary>
        private InvocationExpressionSyntax? LinearConstruction(InvocationExpressionSyntax call)
        {
            if (call.Expression is not MemberAccessExpressionSyntax) return null;
            var member = ReceiverMember(call);
            return member is not null
                && ModuleConstruction.Find(_class, _model, member, _ct) is { } construction
                && ModuleConstruction.FactoryName(construction.Factory) == "Linear"
                ? construction.Factory
                : null;
        }

        public void CheckSites(ImmutableArray<ResidualSite> sites)
        {
            foreach (var site in sites)
            {
                site.Problem = site.Shape switch
                {
                    SiteShape.PostNorm => "post-norm: the sum is normalized before it flows on, so the normalization would see n streams and each stream's residual path would not be an identity",
                    SiteShape.Nested => "the residual sum is part of a larger expression, so its value cannot become the n-stream state",
                    _ => null,
                };

                if (site.Problem is null && sites.Any(other => other != site && other.Node.Span.Contains(site.Node.Span)))
                {
                    site.Problem = "it is nested inside another residual connection's branch";
                }

                if (site.Problem is null && site.Node.Ancestors().TakeWhile(a => a != _body).Any(a => a is ForStatementSyntax or CommonForEachStatementSyntax or WhileStatementSyntax or DoStatementSyntax))
                {
                    site.Problem = "it is inside a loop, and every iteration would need a connection of its own";
                }

                if (site.Problem is null)
                {
                    var channelFirst = ModuleCalls(site).Select(ModuleReceiverType).FirstOrDefault(t => t is not null && TorchSymbols.ChannelFirstModules.Contains(t.Name));
                    if (channelFirst is not null)
                    {
                        site.Problem = $"channel-first convolutional block: '{channelFirst.Name}' keeps channels on axis 1, but streams are stacked just before the last (channel) axis";
                    }
                }
            }

            // A local computed from the identity can move into the branch only if nothing else reads it.
            foreach (var site in sites.Where(s => s.Problem is null))
            {
                foreach (var statement in site.MovedLocals)
                {
                    var local = _model.GetDeclaredSymbol(statement.Declaration.Variables[0], _ct);
                    var outside = _body.DescendantNodes().OfType<IdentifierNameSyntax>().FirstOrDefault(id =>
                        !site.Node.Span.Contains(id.Span)
                        && !site.MovedLocals.Any(m => m.Span.Contains(id.Span))
                        && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(id, _ct).Symbol, local));
                    if (outside is not null)
                    {
                        site.Problem = $"'{local!.Name}' is computed from '{site.Identity.Name}' and also used outside this residual connection (line {Line(outside)})";
                        break;
                    }
                }
            }
        }

        private IEnumerable<InvocationExpressionSyntax> ModuleCalls(ResidualSite site)
            => site.Branches.Cast<SyntaxNode>().Concat(site.MovedLocals)
                .SelectMany(n => n.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>());

        public static int Line(SyntaxNode node) => node.GetLocation().GetLineSpan().StartLinePosition.Line + 1;

        public string? CheckClass(ImmutableArray<ResidualSite> sites, out ExpressionSyntax? channels, out ExpressionStatementSyntax? register)
        {
            channels = null;
            register = null;
            if (_class.Parent is TypeDeclarationSyntax)
            {
                return "the module is a nested class; the generated half of a partial class needs a top-level class";
            }

            var streamProblem = StreamVariableUsedElsewhere(sites);
            if (streamProblem is not null)
            {
                return streamProblem;
            }

            foreach (var site in sites)
            {
                foreach (var call in ModuleCalls(site))
                {
                    if (ModuleReceiverType(call) is null
                        || call.ArgumentList.Arguments.Count == 0
                        || !ReadsIdentityDirectly(call.ArgumentList.Arguments[0].Expression, site.Identity)
                        || ReceiverMember(call) is not { } member
                        || ModuleConstruction.Find(_class, _model, member, _ct) is not { Constructor: { } constructor } construction)
                    {
                        continue;
                    }

                    var factoryArguments = construction.Factory.ArgumentList.Arguments;
                    var name = ModuleConstruction.FactoryName(construction.Factory);
                    if (factoryArguments.Count == 0 || name is not ("LayerNorm" or "Linear"))
                    {
                        continue;
                    }

                    register = constructor.Body!.Statements.OfType<ExpressionStatementSyntax>().FirstOrDefault(s =>
                        s.Expression is InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" } });
                    if (register is null)
                    {
                        return $"the constructor that builds '{member.Name}' does not call RegisterComponents(), so the connections would not be registered";
                    }

                    channels = factoryArguments[0].Expression;
                    return null;
                }
            }

            return "the channel width is not known: no LayerNorm(width) or Linear(width, ...) built in the constructor is applied directly to the residual stream";
        }

        private bool ReadsIdentityDirectly(ExpressionSyntax argument, ISymbol identity)
            => argument is IdentifierNameSyntax && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(argument, _ct).Symbol, identity);

        /// <summary>
        /// After conversion every residual variable holds n streams, so any read other than by a residual
        /// connection, a reassignment from one, or a final return would see the wrong shape.
        /// </summary>
        private string? StreamVariableUsedElsewhere(ImmutableArray<ResidualSite> sites)
        {
            var streams = new HashSet<ISymbol>(SymbolEqualityComparer.Default);
            foreach (var site in sites)
            {
                streams.Add(site.Identity);
                if (site.Shape != SiteShape.Value)
                {
                    continue;
                }

                // The variable a converted sum flows into holds n streams as well.
                var target = Unparenthesized(site.Node).Parent switch
                {
                    EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator } => _model.GetDeclaredSymbol(declarator, _ct),
                    AssignmentExpressionSyntax assignment => _model.GetSymbolInfo(assignment.Left, _ct).Symbol,
                    _ => null,
                };
                if (target is ILocalSymbol or IParameterSymbol)
                {
                    streams.Add(target);
                }
                else if (target is not null)
                {
                    return $"the residual sum is stored in '{target.Name}', which is not a local variable, so it would keep n streams beyond this method";
                }
            }

            foreach (var id in _body.DescendantNodes().OfType<IdentifierNameSyntax>())
            {
                var symbol = _model.GetSymbolInfo(id, _ct).Symbol;
                if (symbol is null || !streams.Contains(symbol) || IsStreamUse(id, sites))
                {
                    continue;
                }

                return $"the residual stream '{symbol.Name}' is also used outside residual connections (line {Line(id)}), where it would hold n streams";
            }

            return null;
        }

        private static bool IsStreamUse(IdentifierNameSyntax id, ImmutableArray<ResidualSite> sites)
        {
            if (sites.Any(s => s.Node.Span.Contains(id.Span) || s.MovedLocals.Any(m => m.Span.Contains(id.Span))))
            {
                return true;
            }

            return id.Parent switch
            {
                ReturnStatementSyntax => true,
                AssignmentExpressionSyntax assignment when assignment.Left == id
                    => sites.Any(s => Unparenthesized(s.Node) == assignment.Right || s.Node == assignment),
                _ => false,
            };
        }

        /// <summary>The node with the parentheses around it, <c>(x + F(x))</c> for <c>x + F(x)</c>: where it sits in its statement.</summary>
        private static SyntaxNode Unparenthesized(SyntaxNode node)
        {
            while (node.Parent is ParenthesizedExpressionSyntax parenthesized)
            {
                node = parenthesized;
            }

            return node;
        }
    }
}
