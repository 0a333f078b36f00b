using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Detection.Blocks;
using Mhc.Analyzers.Detection.Sites;
using Mhc.Analyzers.Detection.Stacks;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Detection;

/// <summary>
/// What converting a compilation means: every module class with residual connections, each with its sites,
/// and the stacks that run each convertible block. A block converts when its own analysis allows it and every
/// stack that runs it can be widened (or the project is a block library and leaves that to its caller).
/// Built once per compilation and shared by the analyzer and the code fix, so both always agree.
/// </summary>
internal sealed class ConversionPlan
{
    private readonly Dictionary<INamedTypeSymbol, BlockAnalysis> _blocks;
    private readonly ILookup<INamedTypeSymbol, StackRun> _stacks;
    private readonly Dictionary<INamedTypeSymbol, Problem> _stackProblems;

    private ConversionPlan(Dictionary<INamedTypeSymbol, BlockAnalysis> blocks, ILookup<INamedTypeSymbol, StackRun> stacks, Dictionary<INamedTypeSymbol, Problem> stackProblems, bool library)
    {
        _blocks = blocks;
        _stacks = stacks;
        _stackProblems = stackProblems;
        IsLibrary = library;
    }

    /// <summary>Blocks without a stack convert too, Expand and Reduce left to their caller (MHC1002 guards its calls).</summary>
    public bool IsLibrary { get; }

    public IEnumerable<BlockAnalysis> Blocks => _blocks.Values;

    public BlockAnalysis? Block(INamedTypeSymbol type) => _blocks.TryGetValue(type, out var block) ? block : null;

    /// <summary>Every stack that runs the block (or, for a loop running several block classes, any of them).</summary>
    public IEnumerable<StackRun> StacksOf(INamedTypeSymbol block)
        => _stacks[block];

    /// <summary>The block's problem, its own or its stacks'; null when it converts.</summary>
    public Problem? ProblemOf(BlockAnalysis block)
        => block.FirstProblem ?? (_stackProblems.TryGetValue(block.Type, out var problem) ? problem : null);

    public static ConversionPlan Build(Compilation compilation, TorchSymbols symbols, AnalyzerConfigOptionsProvider? options, CancellationToken ct)
    {
        var library = options is not null
            && options.GlobalOptions.TryGetValue("build_property." + MhcDefaults.LibraryProperty, out var value)
            && string.Equals(value?.Trim(), "true", System.StringComparison.OrdinalIgnoreCase);

        var modules = AllTypes(compilation.Assembly.GlobalNamespace).Where(t => symbols.IsModule(t) && !t.DeclaringSyntaxReferences.IsEmpty).ToList();
        var blocks = new Dictionary<INamedTypeSymbol, BlockAnalysis>(SymbolEqualityComparer.Default);
        foreach (var type in modules)
        {
            if (symbols.IsHyperConnected(type))
            {
                continue;
            }

            foreach (var declaration in type.DeclaringSyntaxReferences.Select(r => r.GetSyntax(ct)).OfType<ClassDeclarationSyntax>())
            {
                var tree = declaration.SyntaxTree;
                var model = compilation.GetSemanticModel(tree);
                string? Channels(string name) => ChannelsOption(options, tree, name);
                if (BlockAnalysis.Analyze(declaration, model, symbols, Channels, ct) is { } analysis)
                {
                    blocks[type] = analysis;
                    break;
                }
            }
        }

        // Only blocks that convert on their own need a stack; the stacks of the others do not matter.
        var convertible = blocks.Where(b => b.Value.IsConvertible).ToDictionary(b => b.Key, b => b.Value, (IEqualityComparer<INamedTypeSymbol>)SymbolEqualityComparer.Default);
        var finder = new StackFinder(compilation, symbols, convertible, ct);
        finder.Find(modules);

        var stacks = finder.Runs.SelectMany(r => r.Calls.Select(c => (Run: r, Call: c)))
            .Select(rc => (rc.Run, Block: (BlockOfCall(rc.Run, rc.Call, compilation, symbols, convertible, ct) ?? rc.Run.Block).OriginalDefinition))
            .Distinct()
            .ToLookup(p => p.Block, p => p.Run, (IEqualityComparer<INamedTypeSymbol>)SymbolEqualityComparer.Default);
        var problems = new Dictionary<INamedTypeSymbol, Problem>(SymbolEqualityComparer.Default);
        foreach (var block in convertible.Keys)
        {
            var runs = stacks[block].ToList();
            finder.OutsideCalls.TryGetValue(block, out var outside);
            if (runs.FirstOrDefault(r => r.Problem is not null) is { } broken)
            {
                problems[block] = broken.Problem!;
            }
            else if (!library && runs.Count == 0)
            {
                problems[block] = Reasons.NoStack.With(
                    $"no model runs '{block.Name}' in a block stack (a loop over a ModuleList, an array or a list of them, or a Sequential of them), so there is no place for Expand and Reduce"
                    + (outside is { Count: > 0 } ? $"; it is called on its own at {Where(outside[0])}" : ""));
            }
            else if (!library && outside is { Count: > 0 })
            {
                problems[block] = Reasons.Stack.With(
                    $"'{block.Name}' is also called outside a block stack at {Where(outside[0])}; that call would pass one stream to a block that expects n");
            }
        }

        return new ConversionPlan(blocks, stacks, problems, library);
    }

    private static INamedTypeSymbol? BlockOfCall(StackRun run, InvocationExpressionSyntax call, Compilation compilation, TorchSymbols symbols, IReadOnlyDictionary<INamedTypeSymbol, BlockAnalysis> blocks, CancellationToken ct)
    {
        if (run.Shape == StackShape.Sequential || ModuleCalls.Receiver(call) is not { } receiver)
        {
            return run.Block;
        }

        var type = compilation.GetSemanticModel(call.SyntaxTree).GetTypeInfo(receiver, ct).Type as INamedTypeSymbol;
        return type is not null && blocks.ContainsKey(type.OriginalDefinition) ? type : run.Block;
    }

    private static string Where(SyntaxNode node)
    {
        var span = node.GetLocation().GetLineSpan();
        return $"{System.IO.Path.GetFileName(span.Path)} line {span.StartLinePosition.Line + 1}";
    }

    /// <summary>The width named for a block in .editorconfig (or by <c>dotnet mhc convert --channels</c>).</summary>
    private static string? ChannelsOption(AnalyzerConfigOptionsProvider? options, SyntaxTree tree, string block)
    {
        if (options is null)
        {
            return null;
        }

        var key = MhcDefaults.ChannelsKeyPrefix + block;
        var text = options.GetOptions(tree).TryGetValue(key, out var value) ? value
            : options.GlobalOptions.TryGetValue(key, out var global) ? global
            : null;
        return string.IsNullOrWhiteSpace(text) ? null : text!.Trim();
    }

    public static IEnumerable<INamedTypeSymbol> AllTypes(INamespaceSymbol ns)
    {
        foreach (var type in ns.GetTypeMembers())
        {
            foreach (var nested in WithNestedTypes(type))
            {
                yield return nested;
            }
        }

        foreach (var child in ns.GetNamespaceMembers())
        {
            foreach (var type in AllTypes(child))
            {
                yield return type;
            }
        }
    }

    private static IEnumerable<INamedTypeSymbol> WithNestedTypes(INamedTypeSymbol type)
    {
        yield return type;
        foreach (var member in type.GetTypeMembers())
        {
            foreach (var nested in WithNestedTypes(member))
            {
                yield return nested;
            }
        }
    }
}
