using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Mhc.Analyzers.Detection.Blocks;
using Mhc.Analyzers.Detection.Flow;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Mhc.Analyzers.Detection.Sites;

/// <summary>
/// Works out how one site is rewritten: what the connection call takes as its streams, which names change
/// inside the branch (reads of the stream become the lambda parameter; the variable the sum is assigned to
/// becomes the parameter, or a local of the lambda, from its first write on), which locals the branch declares
/// that later code reads (declared before the call), and how the call takes the sum's place.
/// </summary>
internal sealed class SitePlan
{
    private readonly ResidualSite _site;
    private readonly BlockAnalysis _block;
    private readonly ILookup<SyntaxNode, StateRead> _readsBySyntax;
    private readonly StreamUses _uses;
    private readonly CancellationToken _ct;
    private readonly SemanticModel _model;
    private readonly Dictionary<SyntaxNode, string> _renames = new();
    private readonly Dictionary<StatementSyntax, StatementRewrite> _rewritten = new();
    private readonly List<HoistedLocal> _hoisted = new();
    private bool _parameterTaken;
    private ImmutableArray<SyntaxNode> _branchNodes;

    public SitePlan(ResidualSite site, BlockAnalysis block, ILookup<SyntaxNode, StateRead> readsBySyntax, StreamUses uses, CancellationToken ct)
    {
        _site = site;
        _block = block;
        _readsBySyntax = readsBySyntax;
        _uses = uses;
        _ct = ct;
        _model = block.Model;
    }

    public void Build()
    {
        var site = _site;
        site.BranchOperands = site.Sum.Branches.Select(b => b.Operand.Syntax).ToImmutableArray();
        _branchNodes = site.Moved.Cast<SyntaxNode>().Concat(site.BranchOperands).ToImmutableArray();
        site.FirstModules = _block.Facts.Derived
            .Where(d => d.Parent == site.Consumed && SyntaxQueries.Within(d.Call.Syntax, _branchNodes))
            .ToImmutableArray();

        var target = Target();
        if (site.Problem is not null)
        {
            return;
        }

        if (InPlaceChangeOfTheStream() is { } inPlace)
        {
            site.Problem = Reasons.StreamEscapes.With(
                $"the stream is changed in place at line {SyntaxQueries.Line(inPlace)} ('{inPlace}'); inside a connection that would change the branch's input, not the streams");
            return;
        }

        if (target is not null)
        {
            PlanTarget(target);
        }

        // The stream's own variable written by the branch (return x + residual, after x = ffn(x)): inside the lambda
        // it becomes the parameter (or a local), so the call leaves it as it was, unless later code reads what the
        // branch wrote there.
        foreach (var written in StreamVariablesWritten(target))
        {
            if (site.Problem is null)
            {
                PlanTarget(written, isTarget: false);
            }
        }

        if (site.Problem is null)
        {
            Hoist(target);
        }

        if (site.Problem is null && AssignedOnlyInTheBranch() is { } unassigned)
        {
            site.Problem = Reasons.BranchLayout.With(
                $"'{unassigned.Name}' is declared without a value and assigned in the branch, then read after it; inside a lambda the compiler cannot see it assigned: declare it with a value (= default!)");
        }

        if (site.Problem is null)
        {
            // Reads of the stream inside the branch take the lambda parameter; they win over a target rename.
            foreach (var node in _branchNodes.SelectMany(n => n.DescendantNodesAndSelf()))
            {
                if (_readsBySyntax[node].Any(r => r.State == site.Consumed))
                {
                    _renames[node] = _block.Parameter;
                }
            }

            site.Argument = Argument();
            site.Renames = _renames.ToImmutableDictionary();
            site.RewrittenStatements = _rewritten.ToImmutableDictionary();
            site.Hoisted = _hoisted.ToImmutableArray();
        }
    }

    /// <summary>
    /// An in-place tensor method on the stream itself among the branch's statements (<c>x.clamp_(-1, 1);</c>,
    /// <c>x.mul_(2)</c>, <c>x.add_(f, alpha: 0.5)</c>): it changed the stream, and moved into the lambda it would change
    /// only the branch's input.
    /// </summary>
    private InvocationExpressionSyntax? InPlaceChangeOfTheStream()
        => _site.Moved.SelectMany(m => m.DescendantNodesAndSelf()).OfType<InvocationExpressionSyntax>().FirstOrDefault(call =>
            call.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: var name } access
            && name.Length > 1 && name.EndsWith("_", System.StringComparison.Ordinal)
            && _readsBySyntax[SyntaxQueries.Innermost(access.Expression)].Any(r => r.State == _site.Consumed));

    /// <summary>The variable the sum's value goes to, and the form the call takes; null when it goes elsewhere (returned, an argument).</summary>
    private ISymbol? Target()
    {
        var site = _site;
        switch (site.Sum.Spelling)
        {
            case SumSpelling.Compound or SumSpelling.AddInPlace:
                if (site.Statement is not ExpressionStatementSyntax statement
                    || SyntaxQueries.Outermost(site.Node) != statement.Expression
                    || site.Sum.InPlaceTarget is not (ILocalSymbol or IParameterSymbol))
                {
                    site.Problem = Reasons.StreamEscapes.With($"the in-place sum at line {SyntaxQueries.Line(site.Node)} is part of a larger expression, so its value cannot become the n-stream state");
                    return null;
                }

                site.Form = ResultForm.AssignStatement;
                site.TargetName = site.Sum.InPlaceTarget.Name;
                return site.Sum.InPlaceTarget;
            default:
                site.Form = ResultForm.InPlace;
                switch (SyntaxQueries.Outermost(site.Node).Parent)
                {
                    case AssignmentExpressionSyntax assignment when assignment.IsKind(SyntaxKind.SimpleAssignmentExpression) && SyntaxQueries.Outermost(site.Node) == assignment.Right:
                        var symbol = _model.GetSymbolInfo(assignment.Left, _ct).Symbol;
                        if (symbol is not (ILocalSymbol or IParameterSymbol))
                        {
                            site.Problem = Reasons.StreamEscapes.With(
                                $"the residual sum is stored in '{assignment.Left}', which is not a local variable, so it would keep n streams beyond this method");
                            return null;
                        }

                        site.TargetName = symbol.Name;
                        return symbol;
                    case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator }:
                        return _model.GetDeclaredSymbol(declarator, _ct);
                    default:
                        return null;
                }
        }
    }

    /// <summary>
    /// The target written inside the branch (<c>h = norm(h); h = attn(h); h = residual + h;</c>): inside the lambda it
    /// becomes the parameter when the stream is not read after its first write, else a local of the lambda.
    /// </summary>
    private void PlanTarget(ISymbol target, bool isTarget = true)
    {
        var site = _site;
        var references = References(target, _branchNodes).ToList();
        var writes = references.Where(IsWrite).ToList();
        var declaration = site.Moved.OfType<LocalDeclarationStatementSyntax>()
            .FirstOrDefault(d => d.Declaration.Variables.Any(v => SymbolEqualityComparer.Default.Equals(_model.GetDeclaredSymbol(v, _ct), target)));
        if (writes.Count == 0 && declaration is null)
        {
            return;
        }

        // The first write starts where its statement does and takes effect where it ends (its own value may read the
        // stream): the whole assignment's end, also for an element of a deconstruction ((h, var w) = attn(h)).
        var (firstWriteStart, firstWriteEnd) = declaration is not null && (writes.Count == 0 || declaration.SpanStart < writes[0].SpanStart)
            ? (declaration.SpanStart, declaration.Span.End)
            : (writes[0].SpanStart, (writes[0].FirstAncestorOrSelf<AssignmentExpressionSyntax>() ?? writes[0].Parent!).Span.End);
        var streamReadsAfter = _branchNodes.SelectMany(n => n.DescendantNodesAndSelf())
            .Any(n => n.SpanStart >= firstWriteEnd && _readsBySyntax[n].Any(r => r.State == site.Consumed));
        var otherReadsBefore = references.Any(r => r.SpanStart < firstWriteStart && !_readsBySyntax[r].Any(x => x.State == site.Consumed));
        var merge = !streamReadsAfter && !otherReadsBefore && !_parameterTaken;
        _parameterTaken |= merge;
        var name = merge ? _block.Parameter : FreshName(target.Name + "Branch");

        foreach (var reference in references.Where(r => r.SpanStart >= firstWriteStart))
        {
            _renames[reference] = name;
        }

        if (declaration is not null && isTarget)
        {
            if (declaration.Declaration.Variables.Count != 1)
            {
                site.Problem = Reasons.BranchLayout.With($"'{target.Name}' is declared together with other variables at line {SyntaxQueries.Line(declaration)}");
                return;
            }

            _rewritten[declaration] = new StatementRewrite(merge ? RewriteKind.AssignDeclared : RewriteKind.DeclareAssigned);
            _renames[declaration.Declaration.Variables[0]] = name;
            if (site.Statement is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax assignment } && SyntaxQueries.Outermost(site.Node) == assignment.Right)
            {
                // T = residual + f;  with T declared in the branch: the call declares it.
                site.Form = ResultForm.DeclareStatement;
                site.DeclaredType = declaration.Declaration.Type.ToString();
            }
            else
            {
                AddHoisted((ILocalSymbol)target);
            }
        }
        else if (!merge)
        {
            // The first write declares the lambda's own local.
            var first = writes[0];
            if (first.Parent is AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax firstStatement } assignment
                && assignment.Left == first && site.Moved.Contains(firstStatement))
            {
                _rewritten[firstStatement] = new StatementRewrite(RewriteKind.DeclareAssigned);
            }
            else
            {
                site.Problem = Reasons.BranchLayout.With($"the branch writes '{target.Name}' at line {SyntaxQueries.Line(first)} in a way that cannot become a local of the connection's lambda");
            }
        }
    }

    private IEnumerable<ISymbol> StreamVariablesWritten(ISymbol? target)
    {
        var site = _site;
        var first = site.Moved.FirstOrDefault();
        if (first is null || !_block.Facts.StatesBefore.TryGetValue(first, out var before))
        {
            yield break;
        }

        var origin = site.Consumed.Origin;
        var holders = before.Where(p => p.Value == site.Consumed).Select(p => p.Key).OfType<ISymbol>().ToList();
        if (site.Consumed.Version == 0 && origin.Member is null && !before.ContainsKey(origin.Parameter))
        {
            holders.Add(origin.Parameter);
        }

        var end = (site.Statement ?? site.Node).Span.End;
        foreach (var holder in holders.Distinct<ISymbol>(SymbolEqualityComparer.Default))
        {
            if (SymbolEqualityComparer.Default.Equals(holder, target) || !References(holder, _branchNodes).Any(IsWrite))
            {
                continue;
            }

            var readLater = References(holder, new SyntaxNode[] { _block.Forward }).Any(r => r.SpanStart >= end);
            if (!readLater)
            {
                yield return holder;
            }
        }
    }

    /// <summary>Locals the branch declares that code after the sum reads: declared before the call, assigned inside it.</summary>
    private void Hoist(ISymbol? target)
    {
        var site = _site;
        foreach (var statement in site.Moved)
        {
            var declared = DeclaredLocals(statement).ToList();
            var hoisted = declared.Where(l => !SymbolEqualityComparer.Default.Equals(l, target) && UsedAfter(l)).ToList();
            if (hoisted.Count == 0)
            {
                continue;
            }

            // attn.Attend(h, out var w) with w read after the sum: w is declared before the call, and the argument
            // becomes out w (inside the lambda, out var w would declare a second w that hides it).
            var outVariables = hoisted.Where(l => OutDeclaration(l) is not null).ToList();
            foreach (var local in outVariables)
            {
                _renames[OutDeclaration(local)!] = local.Name;
                if (!AddHoisted(local))
                {
                    return;
                }
            }

            hoisted = hoisted.Except(outVariables, SymbolEqualityComparer.Default).OfType<ILocalSymbol>().ToList();
            if (hoisted.Count == 0)
            {
                continue;
            }

            switch (statement)
            {
                case LocalDeclarationStatementSyntax { Declaration.Variables.Count: 1 } declaration:
                    _rewritten[declaration] = new StatementRewrite(RewriteKind.AssignDeclared);
                    break;
                case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: DeclarationExpressionSyntax { Designation: ParenthesizedVariableDesignationSyntax designation } } }
                    when designation.Variables.All(v => v is SingleVariableDesignationSyntax or DiscardDesignationSyntax):
                    // var (attn, weights) = f(x): (var attn, weights) = f(h) with weights declared before the call; a
                    // mix of declarations and assignments needs C# 10, else every element is declared before.
                    if (((CSharpParseOptions)statement.SyntaxTree.Options).LanguageVersion < LanguageVersion.CSharp10)
                    {
                        hoisted = declared.Where(l => !SymbolEqualityComparer.Default.Equals(l, target)).ToList();
                    }

                    _rewritten[statement] = new StatementRewrite(RewriteKind.Deconstruct, hoisted.Select(l => l.Name).ToImmutableHashSet());
                    break;
                case ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: TupleExpressionSyntax tuple } }
                    when !_rewritten.ContainsKey(statement)
                         && tuple.Arguments.All(a => a.Expression is IdentifierNameSyntax or DeclarationExpressionSyntax { Designation: SingleVariableDesignationSyntax or DiscardDesignationSyntax }):
                    // (h, var weights) = f(h): the mix of assignments and declarations is already C# 10; the hoisted
                    // elements lose their declarations.
                    _rewritten[statement] = new StatementRewrite(RewriteKind.Deconstruct, hoisted.Select(l => l.Name).ToImmutableHashSet());
                    break;
                default:
                    site.Problem = Reasons.BranchLayout.With(
                        $"'{hoisted[0].Name}' is computed in the branch and used after it, but declared at line {SyntaxQueries.Line(statement)} in a form that cannot move before the connection");
                    return;
            }

            foreach (var local in hoisted)
            {
                if (!AddHoisted(local))
                {
                    return;
                }
            }
        }
    }

    /// <summary>A local declared before the branch without a value (<c>Tensor w;</c>), written in it and read after the sum.</summary>
    private ILocalSymbol? AssignedOnlyInTheBranch()
        => _branchNodes.SelectMany(n => n.DescendantNodesAndSelf()).OfType<IdentifierNameSyntax>()
            .Where(IsWrite)
            .Select(id => _model.GetSymbolInfo(id, _ct).Symbol).OfType<ILocalSymbol>()
            .FirstOrDefault(local => local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_ct) is VariableDeclaratorSyntax { Initializer: null } declarator
                && !SyntaxQueries.Within(declarator, _branchNodes)
                && UsedAfter(local));

    /// <summary>The <c>var w</c> of an <c>out var w</c> argument that declares <paramref name="local"/>, or null.</summary>
    private DeclarationExpressionSyntax? OutDeclaration(ILocalSymbol local)
        => local.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(_ct) is SingleVariableDesignationSyntax
            {
                Parent: DeclarationExpressionSyntax { Parent: ArgumentSyntax { RefKindKeyword.RawKind: (int)SyntaxKind.OutKeyword } } declaration,
            }
            ? declaration
            : null;

    private bool AddHoisted(ILocalSymbol local)
    {
        if (local.Type is { IsAnonymousType: true } or IErrorTypeSymbol || local.IsRef)
        {
            _site.Problem = Reasons.BranchLayout.With($"'{local.Name}' is computed in the branch and used after it, and its type cannot be written before the connection");
            return false;
        }

        // Declared as `var` would have declared it, so that assigning inside the lambda warns nowhere; where nullable
        // annotations are off, without the `?` they would warn about.
        var position = (_site.Statement ?? _site.Node).SpanStart;
        var type = _model.GetNullableContext(position).AnnotationsEnabled()
            ? local.Type
            : local.Type.WithNullableAnnotation(NullableAnnotation.None);
        _hoisted.Add(new HoistedLocal(local, type.ToMinimalDisplayString(_model, position), local.Type.IsReferenceType ? "default!" : "default"));
        return true;
    }

    private IEnumerable<ILocalSymbol> DeclaredLocals(StatementSyntax statement)
    {
        // Locals a statement declares into the enclosing block: declarations, out variables, deconstructions.
        foreach (var node in statement.DescendantNodesAndSelf(n => n == statement || n is not (StatementSyntax or AnonymousFunctionExpressionSyntax)))
        {
            var symbol = node switch
            {
                VariableDeclaratorSyntax declarator => _model.GetDeclaredSymbol(declarator, _ct),
                SingleVariableDesignationSyntax designation => _model.GetDeclaredSymbol(designation, _ct),
                _ => null,
            };
            if (symbol is ILocalSymbol local)
            {
                yield return local;
            }
        }
    }

    private bool UsedAfter(ILocalSymbol local)
        => References(local, new SyntaxNode[] { _block.Forward })
            .Any(r => !SyntaxQueries.Within(r, _branchNodes));

    private IEnumerable<SyntaxNode> References(ISymbol symbol, IEnumerable<SyntaxNode> within)
        => within.SelectMany(n => n.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>())
            .Where(id => id.Identifier.ValueText == symbol.Name && SymbolEqualityComparer.Default.Equals(_model.GetSymbolInfo(id, _ct).Symbol, symbol));

    private static bool IsWrite(SyntaxNode id)
        => id.Parent is AssignmentExpressionSyntax assignment && assignment.Left == id
           || id.Parent is ArgumentSyntax { RefKindKeyword.RawKind: (int)SyntaxKind.OutKeyword or (int)SyntaxKind.RefKeyword }
           || id.Parent is PrefixUnaryExpressionSyntax or PostfixUnaryExpressionSyntax
           || id.Parent is TupleExpressionSyntax or ArgumentSyntax { Parent: TupleExpressionSyntax };

    private string FreshName(string name)
    {
        var used = SyntaxQueries.IdentifiersIn(_block.Declaration);
        var candidate = name;
        for (var i = 2; used.Contains(candidate) || candidate == _block.Parameter; i++)
        {
            candidate = name + i;
        }

        return candidate;
    }

    /// <summary>
    /// What the call takes as its streams: a variable that holds the consumed state where the call runs and stays
    /// after the conversion, else the block's input as written, else an alias, which then stays.
    /// </summary>
    private string Argument()
    {
        var site = _site;
        var state = site.Consumed;
        var first = site.Moved.FirstOrDefault() ?? site.Statement;
        var before = first is not null && _block.Facts.StatesBefore.TryGetValue(first, out var snapshot)
            ? snapshot
            : ImmutableDictionary<object, StreamState?>.Empty;
        var holders = before.Where(p => p.Value == state).Select(p => p.Key).ToList();
        var origin = state.Origin;
        object originKey = origin.Member is null ? origin.Parameter : new MemberKey(origin.Parameter, origin.Member);
        if (state.Version == 0 && !before.ContainsKey(originKey))
        {
            holders.Add(originKey);
        }

        var identity = ModuleCalls.Unwrap(site.Sum.Operands[site.Sum.IdentityIndex].Operand) switch
        {
            ILocalReferenceOperation local => (ISymbol)local.Local,
            IParameterReferenceOperation parameter => parameter.Parameter,
            _ => null,
        };
        bool Stays(object key) => key is not ILocalSymbol local || !_uses.IsDroppable(local);
        var ordered = holders
            .OrderBy(k => SymbolEqualityComparer.Default.Equals(k as ISymbol, identity) ? 0
                : site.TargetName is not null && (k as ISymbol)?.Name == site.TargetName ? 1
                : k is MemberKey ? 3
                : k is IParameterSymbol ? 2
                : 2)
            .ThenBy(Display, System.StringComparer.Ordinal)
            .ToList();
        var chosen = ordered.FirstOrDefault(Stays) ?? ordered.FirstOrDefault();
        if (chosen is ILocalSymbol alias && _uses.IsDroppable(alias))
        {
            _uses.Keep(alias);
        }

        return chosen is null ? origin.Display : Display(chosen);
    }

    private static string Display(object key) => key switch
    {
        MemberKey member => member.Parameter.Name + "." + member.Member.Name,
        ISymbol symbol => symbol.Name,
        _ => key.ToString() ?? "",
    };
}
