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
/// Finds where models run their blocks: loops over lists, arrays and dictionaries of blocks (however the body
/// passes the stream on: directly, through an input record, out of an output record or tuple), and Sequentials
/// of blocks. Calls of a block anywhere else are kept too: such a call would pass one stream to a converted block.
/// </summary>
internal sealed class StackFinder
{
    private readonly Compilation _compilation;
    private readonly TorchSymbols _symbols;
    private readonly IReadOnlyDictionary<INamedTypeSymbol, BlockAnalysis> _blocks;
    private readonly CancellationToken _ct;
    private readonly Dictionary<(INamedTypeSymbol Owner, ISymbol Member), INamedTypeSymbol?> _contents = new();

    public StackFinder(Compilation compilation, TorchSymbols symbols, IReadOnlyDictionary<INamedTypeSymbol, BlockAnalysis> blocks, CancellationToken ct)
    {
        _compilation = compilation;
        _symbols = symbols;
        _blocks = blocks;
        _ct = ct;
    }

    public List<StackRun> Runs { get; } = new();

    /// <summary>Block calls outside any stack, by block.</summary>
    public Dictionary<INamedTypeSymbol, List<InvocationExpressionSyntax>> OutsideCalls { get; } = new(SymbolEqualityComparer.Default);

    public void Find(IEnumerable<INamedTypeSymbol> modules)
    {
        foreach (var owner in modules)
        {
            foreach (var declaration in owner.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)).OfType<TypeDeclarationSyntax>())
            {
                var model = _compilation.GetSemanticModel(declaration.SyntaxTree);
                foreach (var method in declaration.Members.OfType<MethodDeclarationSyntax>())
                {
                    _ct.ThrowIfCancellationRequested();
                    Scan(owner, method, model);
                }
            }
        }
    }

    private void Scan(INamedTypeSymbol owner, MethodDeclarationSyntax method, SemanticModel model)
    {
        var body = (SyntaxNode?)method.Body ?? method.ExpressionBody;
        if (body is null)
        {
            return;
        }

        var loops = new Dictionary<StatementSyntax, List<(InvocationExpressionSyntax Call, INamedTypeSymbol Block)>>();
        foreach (var invocation in body.DescendantNodes().OfType<InvocationExpressionSyntax>())
        {
            if (ModuleCalls.Receiver(invocation) is not { } receiver)
            {
                continue;
            }

            var receiverType = model.GetTypeInfo(receiver, _ct).Type as INamedTypeSymbol;
            if (receiverType is not null && _symbols.IsSequential(receiverType)
                && Member(receiver, model) is { } sequential && Contents(owner, sequential) is { } held)
            {
                Runs.Add(SequentialRun(owner, held, invocation));
                continue;
            }

            var block = BlockOf(owner, receiver, receiverType, model);
            if (block is null)
            {
                continue;
            }

            var loop = EnclosingLoop(invocation, body);
            if (loop is null && invocation.Ancestors().TakeWhile(a => a != body).FirstOrDefault(a => a is AnonymousFunctionExpressionSyntax) is { } lambda)
            {
                // blocks.Aggregate(x, (h, b) => b.forward(h)): a stack the converter cannot see the stream of.
                Runs.Add(new StackRun(owner, block, StackShape.Loop, lambda)
                {
                    Calls = ImmutableArray.Create(invocation),
                    Problem = Reasons.Stack.With(
                        $"'{block.Name}' runs inside a lambda at line {SyntaxQueries.Line(invocation)} (a LINQ Aggregate, a callback), where Expand and Reduce have no place; run the blocks in a loop"),
                });
                continue;
            }

            if (loop is null)
            {
                if (!OutsideCalls.TryGetValue(block.OriginalDefinition, out var calls))
                {
                    OutsideCalls[block.OriginalDefinition] = calls = new List<InvocationExpressionSyntax>();
                }

                calls.Add(invocation);
                continue;
            }

            if (!loops.TryGetValue(loop, out var inLoop))
            {
                loops[loop] = inLoop = new List<(InvocationExpressionSyntax, INamedTypeSymbol)>();
            }

            inLoop.Add((invocation, block));
        }

        foreach (var pair in loops)
        {
            Runs.Add(new LoopReader(pair.Key, pair.Value, owner, model, _blocks, _symbols, _ct).Read());
        }
    }

    /// <summary>The block class a call runs: the receiver's own type, or what the list it comes from holds.</summary>
    private INamedTypeSymbol? BlockOf(INamedTypeSymbol owner, ExpressionSyntax receiver, INamedTypeSymbol? type, SemanticModel model)
    {
        // A generic block runs as a constructed type (MetaFormerBlock<Attention>): the same block.
        if (type is not null && _blocks.ContainsKey(type.OriginalDefinition))
        {
            return type;
        }

        // A list of a base type (ModuleList<Module<Tensor, Tensor>>) holding one block class: layers[i], or a foreach variable over it.
        var source = SyntaxQueries.Innermost(receiver) switch
        {
            ElementAccessExpressionSyntax element => element.Expression,
            IdentifierNameSyntax id when model.GetSymbolInfo(id, _ct).Symbol is ILocalSymbol local
                && local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_ct) is ForEachStatementSyntax each => each.Expression,
            _ => null,
        };
        return source is not null && Member(source, model) is { } member ? Contents(owner, member) : null;
    }

    private ISymbol? Member(ExpressionSyntax expression, SemanticModel model)
        => model.GetSymbolInfo(SyntaxQueries.Innermost(expression), _ct).Symbol is { Kind: SymbolKind.Field or SymbolKind.Property } member ? member : null;

    /// <summary>
    /// The one block class a member holds, read from the constructors that fill it (<c>layers = new ModuleList&lt;Module&gt;(...)</c>,
    /// <c>blocks.append(new Block(...))</c>, <c>Sequential(Enumerable.Range(0, n).Select(i =&gt; new Block(c)))</c>); null when it
    /// holds none, or other modules as well.
    /// </summary>
    private INamedTypeSymbol? Contents(INamedTypeSymbol owner, ISymbol member)
    {
        if (_contents.TryGetValue((owner, member), out var known))
        {
            return known;
        }

        // A collection typed by its blocks says it: ModuleList<Block>, Block[], List<Block>.
        var declared = member switch
        {
            IFieldSymbol field => field.Type,
            IPropertySymbol property => property.Type,
            _ => null,
        };
        var element = declared switch
        {
            IArrayTypeSymbol array => array.ElementType,
            INamedTypeSymbol { IsGenericType: true } generic => generic.TypeArguments.LastOrDefault(),
            _ => null,
        };
        if (element is INamedTypeSymbol typed && _blocks.ContainsKey(typed.OriginalDefinition))
        {
            _contents[(owner, member)] = typed;
            return typed;
        }

        var created = new HashSet<ITypeSymbol>(SymbolEqualityComparer.Default);
        if (declared is INamedTypeSymbol subclass && !subclass.DeclaringSyntaxReferences.IsEmpty && _symbols.IsSequential(subclass))
        {
            // class Encoder : Sequential { Encoder(...) : base(layers...) } holds what its constructors give its base.
            foreach (var constructor in subclass.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)).OfType<TypeDeclarationSyntax>().SelectMany(t => t.Members.OfType<ConstructorDeclarationSyntax>()))
            {
                var model = _compilation.GetSemanticModel(constructor.SyntaxTree);
                AddModules(constructor, model, created);
            }

            return Single(owner, member, created);
        }

        foreach (var constructor in owner.DeclaringSyntaxReferences.Select(r => r.GetSyntax(_ct)).OfType<TypeDeclarationSyntax>().SelectMany(t => t.Members.OfType<ConstructorDeclarationSyntax>()))
        {
            var model = _compilation.GetSemanticModel(constructor.SyntaxTree);
            var statements = constructor.Body?.DescendantNodes().OfType<StatementSyntax>().Where(s => s is ExpressionStatementSyntax or LocalDeclarationStatementSyntax).ToList()
                ?? new List<StatementSyntax>();
            var filling = new HashSet<StatementSyntax>(statements.Where(s => Mentions(s, member, model)));
            // Locals that hold what fills the member, followed as far as they go: var list = new List<Module>();
            // var block = new Block(); list.Add(block); blocks = Sequential(list). Only locals of modules and of
            // collections of them (a width, var dim = args.Dim, also reaches the statements that make other modules),
            // and not those handed to a block's constructor (new Block(norm)): the block holds them.
            var followed = new HashSet<ILocalSymbol>(SymbolEqualityComparer.Default);
            var frontier = filling.ToList();
            while (frontier.Count > 0)
            {
                var locals = frontier.SelectMany(s => s.DescendantNodes().OfType<IdentifierNameSyntax>().Where(id => !InsideModuleCreation(id, s, model)))
                    .Select(id => model.GetSymbolInfo(id, _ct).Symbol).OfType<ILocalSymbol>()
                    .Where(l => HoldsModules(l.Type) && followed.Add(l)).ToList();
                frontier = statements.Where(s => !filling.Contains(s) && locals.Any(l => Mentions(s, l, model) || Declares(s, l, model))).ToList();
                filling.UnionWith(frontier);
            }

            foreach (var statement in filling)
            {
                AddModules(statement, model, created);
            }
        }

        return Single(owner, member, created);
    }

    /// <summary>The block class when the modules made are all of one block class; null otherwise.</summary>
    private INamedTypeSymbol? Single(INamedTypeSymbol owner, ISymbol member, HashSet<ITypeSymbol> created)
    {
        var blocks = created.OfType<INamedTypeSymbol>().Where(t => _blocks.ContainsKey(t.OriginalDefinition)).ToList();
        var result = blocks.Count == 1 && created.Count == 1 ? blocks[0] : null;
        _contents[(owner, member)] = result;
        return result;
    }

    /// <summary>Modules made in a node by <c>new</c> and by factories (<c>LayerNorm(d)</c>); the containers themselves only hold them.</summary>
    /// <remarks>
    /// A helper of the project's that builds the container (<c>layers = BuildStack(dim, n);</c>) is looked into, one level deep.
    /// Modules made in the arguments of another module's creation belong to that module, not to the container:
    /// <c>blocks.Add(new Block(dim, ch =&gt; LayerNorm(ch)))</c> holds blocks.
    /// </remarks>
    private void AddModules(SyntaxNode node, SemanticModel model, HashSet<ITypeSymbol> created, bool followHelpers = true)
    {
        foreach (var made in node.DescendantNodes().Where(n => n is BaseObjectCreationExpressionSyntax or InvocationExpressionSyntax))
        {
            if (model.GetTypeInfo(made, _ct).Type is INamedTypeSymbol type && _symbols.IsModule(type) && !IsContainer(type)
                && !InsideModuleCreation(made, node, model))
            {
                created.Add(type);
            }

            if (followHelpers
                && made is InvocationExpressionSyntax
                && model.GetSymbolInfo(made, _ct).Symbol is IMethodSymbol { DeclaringSyntaxReferences: [var reference] } helper
                && helper.ContainingNamespace?.ToDisplayString().StartsWith("TorchSharp", System.StringComparison.Ordinal) != true
                && reference.GetSyntax(_ct) is MethodDeclarationSyntax declaration)
            {
                AddModules(declaration, _compilation.GetSemanticModel(declaration.SyntaxTree), created, followHelpers: false);
            }
        }
    }

    /// <summary>Whether <paramref name="made"/> is an argument (or inside one) of a module's creation within <paramref name="node"/>.</summary>
    private bool InsideModuleCreation(SyntaxNode made, SyntaxNode node, SemanticModel model)
        => made.Ancestors().TakeWhile(a => a != node).Any(a => a is BaseObjectCreationExpressionSyntax or InvocationExpressionSyntax
            && model.GetTypeInfo(a, _ct).Type is INamedTypeSymbol outer && _symbols.IsModule(outer) && !IsContainer(outer));

    /// <summary>A module, or an array, list or other collection whose elements are modules.</summary>
    private bool HoldsModules(ITypeSymbol type) => type switch
    {
        IArrayTypeSymbol array => _symbols.IsModule(array.ElementType),
        INamedTypeSymbol { IsGenericType: true } generic when !_symbols.IsModule(generic) => generic.TypeArguments.Any(t => _symbols.IsModule(t)),
        _ => _symbols.IsModule(type),
    };

    /// <summary>Whether a statement declares <paramref name="local"/> (<c>var block = new Block(dim);</c>).</summary>
    private bool Declares(StatementSyntax statement, ILocalSymbol local, SemanticModel model)
        => statement is LocalDeclarationStatementSyntax declaration
           && declaration.Declaration.Variables.Any(v => SymbolEqualityComparer.Default.Equals(model.GetDeclaredSymbol(v, _ct), local));

    private static bool IsContainer(INamedTypeSymbol type)
        => type.ContainingNamespace?.ToDisplayString() == "TorchSharp.Modules" && type.Name is "ModuleList" or "ModuleDict" or "Sequential";

    private bool Mentions(SyntaxNode statement, ISymbol symbol, SemanticModel model)
        => statement.DescendantNodes().OfType<IdentifierNameSyntax>()
            .Any(id => id.Identifier.ValueText == symbol.Name && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(id, _ct).Symbol, symbol));

    /// <summary>
    /// The innermost loop around a block call: whatever it iterates (the blocks of a list, or one block several
    /// times), the blocks it runs form a stack between an Expand before it and a Reduce after it.
    /// </summary>
    private static StatementSyntax? EnclosingLoop(InvocationExpressionSyntax invocation, SyntaxNode body)
    {
        foreach (var ancestor in invocation.Ancestors().TakeWhile(a => a != body))
        {
            switch (ancestor)
            {
                case AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax:
                    return null;
                case ForEachStatementSyntax or ForEachVariableStatementSyntax or ForStatementSyntax or WhileStatementSyntax or DoStatementSyntax:
                    return (StatementSyntax)ancestor;
            }
        }

        return null;
    }

    private StackRun SequentialRun(INamedTypeSymbol owner, INamedTypeSymbol block, InvocationExpressionSyntax call)
    {
        var run = new StackRun(owner, block, StackShape.Sequential, call) { Calls = ImmutableArray.Create(call) };
        if (call.ArgumentList.Arguments.Count != 1)
        {
            run.Problem = Reasons.Stack.With($"the Sequential of '{block.Name}' is called with {call.ArgumentList.Arguments.Count} arguments at line {SyntaxQueries.Line(call)}");
        }
        else
        {
            run.SequentialInput = call.ArgumentList.Arguments[0].Expression;
        }

        return run;
    }
}
