using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Mhc.Analyzers.Detection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Simplification;
using Microsoft.CodeAnalysis.Text;

namespace Mhc.Analyzers;

/// <summary>
/// Rewrites one block class and the model that stacks it so that the stack runs on n streams:
/// each residual site becomes <c>hc_name.forward(x, h => F(h))</c>, the class is marked
/// <c>[HyperConnected] partial</c> for the generator, its constructor calls the generated
/// <c>InitializeHyperConnections</c>, and the owner gets Expand before the block loop, Reduce after it
/// and <c>AssignLayerIndices</c> after registration.
/// </summary>
internal static class ModelConverter
{
    private const string RuntimeNamespace = "Mhc.Runtime";
    private const string Indent = "    ";

    /// <summary>Returns null when the class at <paramref name="span"/> cannot (or need not) be converted.</summary>
    public static async Task<Solution?> ConvertAsync(Document document, TextSpan span, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null
            || root.FindNode(span).FirstAncestorOrSelf<ClassDeclarationSyntax>() is not { } declaration
            || TorchSymbols.Create(model.Compilation) is not { } symbols
            || model.GetDeclaredSymbol(declaration, cancellationToken) is not { } type
            || symbols.IsHyperConnected(type))
        {
            return null;
        }

        var analysis = BlockAnalysis.Analyze(declaration, model, symbols, cancellationToken);
        if (analysis is not { IsConvertible: true, Channels: not null, RegisterComponents: not null }
            || !BlockStack.FindAll(model.Compilation, symbols, cancellationToken).TryGetValue(type, out var stack)
            || stack.OtherList is not null)
        {
            return null;
        }

        var solution = document.Project.Solution;
        var editor = await DocumentEditor.CreateAsync(document, cancellationToken).ConfigureAwait(false);
        var newline = NewLine(root);
        RewriteBlock(editor, analysis, newline);
        AddRuntimeUsing(editor, root, newline);

        var ownerDocument = solution.GetDocument(stack.Loop.SyntaxTree);
        if (ownerDocument is null)
        {
            return null;
        }

        if (ownerDocument.Id == document.Id)
        {
            RewriteOwner(editor, stack, newline);
            return solution.WithDocumentSyntaxRoot(document.Id, editor.GetChangedRoot());
        }

        solution = solution.WithDocumentSyntaxRoot(document.Id, editor.GetChangedRoot());
        ownerDocument = solution.GetDocument(ownerDocument.Id)!;
        var ownerRoot = await ownerDocument.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var ownerEditor = await DocumentEditor.CreateAsync(ownerDocument, cancellationToken).ConfigureAwait(false);

        // The owner's tree is unchanged by the block's edit, so the loop is found again at the same place.
        var loop = ownerRoot!.FindNode(stack.Loop.Span, getInnermostNodeForTie: true).FirstAncestorOrSelf<StatementSyntax>(s => s.Span == stack.Loop.Span);
        if (loop is null)
        {
            return null;
        }

        RewriteOwner(ownerEditor, stack, newline, loop);
        AddRuntimeUsing(ownerEditor, ownerRoot, newline);
        return solution.WithDocumentSyntaxRoot(ownerDocument.Id, ownerEditor.GetChangedRoot());
    }

    private static void RewriteBlock(DocumentEditor editor, BlockAnalysis analysis, string newline)
    {
        var parameter = FreshName(analysis);
        foreach (var site in analysis.Sites)
        {
            var indent = Indentation(site.Node.FirstAncestorOrSelf<StatementSyntax>()).ToString();
            var call = SyntaxFactory.ParseExpression(ConnectionCall(site, parameter, editor.SemanticModel, indent, newline));
            var identity = SyntaxFactory.IdentifierName(site.Identity.Name);
            ExpressionSyntax replacement = site.Shape == SiteShape.Value
                ? call
                : SyntaxFactory.AssignmentExpression(
                    SyntaxKind.SimpleAssignmentExpression,
                    identity.WithTrailingTrivia(SyntaxFactory.Space),
                    SyntaxFactory.Token(SyntaxKind.EqualsToken).WithTrailingTrivia(SyntaxFactory.Space),
                    call);
            editor.ReplaceNode(site.Node, replacement.WithTriviaFrom(site.Node));
            foreach (var moved in site.MovedLocals)
            {
                editor.RemoveNode(moved, SyntaxRemoveOptions.KeepUnbalancedDirectives);
            }
        }

        var register = analysis.RegisterComponents!;
        var initialize = SyntaxFactory.ParseStatement($"InitializeHyperConnections(channels: {analysis.Channels!.WithoutTrivia()});")
            .WithLeadingTrivia(Indentation(register))
            .WithTrailingTrivia(SyntaxFactory.EndOfLine(newline));
        editor.InsertBefore(register, initialize);
        editor.ReplaceNode(analysis.Declaration, (node, _) => MarkHyperConnected((ClassDeclarationSyntax)node, newline));
    }

    /// <summary>
    /// <c>hc_attn.forward(x, h => attn.forward(ln_1.forward(h)))</c>; when locals computed from the
    /// stream move into the branch, a block lambda that keeps them as the user wrote them.
    /// </summary>
    private static string ConnectionCall(ResidualSite site, string parameter, SemanticModel model, string indent, string newline)
    {
        var branch = string.Join(" + ", site.Branches.Select(b => Substitute(b, site.Identity, parameter, model).ToString()));
        var head = $"{site.ConnectionName}.forward({site.Identity.Name}, {parameter} =>";
        if (site.MovedLocals.IsEmpty)
        {
            return $"{head} {branch})";
        }

        var text = new StringBuilder(head).Append(newline).Append(indent).Append('{').Append(newline);
        foreach (var moved in site.MovedLocals)
        {
            text.Append(indent).Append(Indent).Append(Substitute(moved, site.Identity, parameter, model).ToString()).Append(newline);
        }

        return text.Append(indent).Append(Indent).Append("return ").Append(branch).Append(';').Append(newline)
            .Append(indent).Append("})").ToString();
    }

    private static SyntaxNode Substitute(SyntaxNode node, ISymbol identity, string parameter, SemanticModel model)
    {
        var references = node.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>()
            .Where(id => SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(id).Symbol, identity));
        return node.ReplaceNodes(references, (_, rewritten) => SyntaxFactory.IdentifierName(parameter).WithTriviaFrom(rewritten)).WithoutTrivia();
    }

    /// <summary>The lambda parameter: <c>h</c> as in the usual examples, or the first name nothing in the class uses.</summary>
    private static string FreshName(BlockAnalysis analysis)
    {
        var used = new HashSet<string>(analysis.Declaration.DescendantTokens()
            .Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText));
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

    private static ClassDeclarationSyntax MarkHyperConnected(ClassDeclarationSyntax declaration, string newline)
    {
        var attribute = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("HyperConnected"))));
        var first = declaration.GetFirstToken();
        var indentation = Indentation(declaration);
        if (declaration.AttributeLists.Count == 0)
        {
            // The attribute takes over the class's leading trivia (comments, doc comments) and the class keeps its indentation.
            attribute = attribute.WithLeadingTrivia(first.LeadingTrivia).WithTrailingTrivia(SyntaxFactory.EndOfLine(newline));
            declaration = declaration.ReplaceToken(first, first.WithLeadingTrivia(indentation));
            declaration = declaration.WithAttributeLists(SyntaxFactory.SingletonList(attribute));
        }
        else
        {
            declaration = declaration.AddAttributeLists(attribute.WithLeadingTrivia(indentation).WithTrailingTrivia(SyntaxFactory.EndOfLine(newline)));
        }

        if (declaration.Modifiers.Any(SyntaxKind.PartialKeyword))
        {
            return declaration;
        }

        if (declaration.Modifiers.Count == 0)
        {
            var keyword = declaration.Keyword;
            return declaration
                .WithKeyword(keyword.WithLeadingTrivia(SyntaxFactory.TriviaList()))
                .WithModifiers(SyntaxFactory.TokenList(SyntaxFactory.Token(keyword.LeadingTrivia, SyntaxKind.PartialKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space))));
        }

        return declaration.AddModifiers(SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space));
    }

    private static void RewriteOwner(DocumentEditor editor, BlockStack stack, string newline, StatementSyntax? loop = null)
    {
        loop ??= stack.Loop;
        var forward = loop.FirstAncestorOrSelf<MethodDeclarationSyntax>();
        if (!ExpandedAlready(loop, stack.StreamVariable))
        {
            var x = stack.StreamVariable;
            var indentation = Indentation(loop);
            var blockType = stack.Block.ToMinimalDisplayString(editor.SemanticModel, loop.SpanStart);
            var expand = Line(SyntaxFactory.ParseStatement($"{x} = HyperStreams.Expand({x}, {blockType}.HyperConnectionStreams);"), indentation, newline);
            var reduce = Line(SyntaxFactory.ParseStatement($"{x} = HyperStreams.Reduce({x});"), indentation, newline);
            // Preprocessor directives inside the loop would be lost in a run: such a loop stays as written.
            var stackRun = !loop.WithoutLeadingTrivia().ContainsDirectives && RunStatement(stack, forward) is { } run
                ? WithCommentsOf(loop, run, indentation, newline)
                : loop;
            var leading = loop.GetLeadingTrivia();
            if (leading.Any(t => t.IsDirective))
            {
                // The loop's leading trivia opens an #if around it: Expand takes that trivia, so that it sits
                // inside the #if with the loop and the Reduce after it.
                expand = expand.WithLeadingTrivia(leading);
                stackRun = stackRun.WithLeadingTrivia(stackRun.GetLeadingTrivia().Skip(leading.Count - indentation.Count));
            }

            if (loop.Parent is BlockSyntax or SwitchSectionSyntax)
            {
                editor.InsertBefore(loop, expand);
                editor.InsertAfter(loop, reduce);
                if (stackRun != loop)
                {
                    editor.ReplaceNode(loop, stackRun);
                }
            }
            else
            {
                // The loop is the body of an unbraced using, if or loop: the three statements need a block of their
                // own. Its braces line up with the line the enclosing statement starts on (`else if (...)` too), the
                // statements one level in, also where the loop shared that line (`else foreach (...) ...`).
                var outer = LineIndentation(loop.Parent!);
                var inner = SyntaxFactory.Whitespace(outer + Indent);
                SyntaxTriviaList Reindented(SyntaxTriviaList trivia)
                {
                    var list = trivia.Select(t => t.IsKind(SyntaxKind.WhitespaceTrivia) ? inner : t).ToList();
                    if (list.Count == 0 || !list[^1].IsKind(SyntaxKind.WhitespaceTrivia))
                        list.Add(inner);
                    return SyntaxFactory.TriviaList(list);
                }

                bool ownLine = loop.GetFirstToken().GetPreviousToken().TrailingTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
                var body = SyntaxFactory.Block(
                        expand.WithLeadingTrivia(Reindented(expand.GetLeadingTrivia())),
                        stackRun.WithLeadingTrivia(Reindented(stackRun.GetLeadingTrivia())),
                        reduce.WithLeadingTrivia(Reindented(reduce.GetLeadingTrivia())))
                    .WithOpenBraceToken(SyntaxFactory.Token(SyntaxKind.OpenBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(outer)).WithTrailingTrivia(SyntaxFactory.EndOfLine(newline)))
                    .WithCloseBraceToken(SyntaxFactory.Token(SyntaxKind.CloseBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(outer)).WithTrailingTrivia(SyntaxFactory.EndOfLine(newline)));
                if (ownLine)
                {
                    editor.ReplaceNode(loop, body);
                }
                else
                {
                    // The brace opens a line of its own: the token before the loop ends its line there. The
                    // editor hands over its tracked copy of the parent, in which the loop is the embedded statement.
                    editor.ReplaceNode(loop.Parent!, (parent, _) =>
                    {
                        var embedded = parent.ChildNodes().OfType<StatementSyntax>().Last();
                        var before = embedded.GetFirstToken().GetPreviousToken();
                        return parent.ReplaceSyntax(
                            [embedded], (_, _) => body,
                            [before], (_, token) => token.WithTrailingTrivia(SyntaxFactory.EndOfLine(newline)),
                            [], (_, trivia) => trivia);
                    });
                }
            }
        }

        var owner = loop.FirstAncestorOrSelf<ClassDeclarationSyntax>();
        var register = owner?.Members.OfType<ConstructorDeclarationSyntax>()
            .SelectMany(c => c.Body?.Statements ?? default)
            .OfType<ExpressionStatementSyntax>()
            .FirstOrDefault(s => s.Expression is InvocationExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "RegisterComponents" } });
        var alreadyIndexed = owner is not null && owner.DescendantNodes().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == "AssignLayerIndices");
        if (register is not null && !alreadyIndexed)
        {
            var assign = SyntaxFactory.ParseStatement("HyperConnections.AssignLayerIndices(this);");
            editor.InsertAfter(register, Line(assign, Indentation(register), newline));
        }
    }

    /// <summary>
    /// True when the statement before the loop already widens its stream variable; each stack of a model
    /// (an encoder's and a decoder's) is checked on its own.
    /// </summary>
    private static bool ExpandedAlready(StatementSyntax loop, string streamVariable)
        => loop.Parent is BlockSyntax block
            && block.Statements.IndexOf(loop) is > 0 and var index
            && block.Statements[index - 1] is ExpressionStatementSyntax
            {
                Expression: AssignmentExpressionSyntax
                {
                    Left: IdentifierNameSyntax target,
                    Right: InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "HyperStreams" }, Name.Identifier.ValueText: "Expand" } },
                },
            }
            && target.Identifier.ValueText == streamVariable;

    /// <summary>
    /// <c>x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams, ...));</c> for a loop that runs
    /// every block of the list in order, so the runtime can free superseded stream states and recompute;
    /// null (the loop stays) when the step uses the stream or the index anywhere but where the run supplies them.
    /// </summary>
    private static StatementSyntax? RunStatement(BlockStack stack, MethodDeclarationSyntax? forward)
    {
        var (visitsAll, blockVariable, indexVariable) = stack.Iteration;
        var step = stack.Step;
        var x = stack.StreamVariable;
        var rest = step.ArgumentList.Arguments.Skip(1).ToList();
        bool Uses(SyntaxNode node, string? name) => name is not null
            && node.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == name);
        if (!visitsAll || rest.Any(a => Uses(a, x) || Uses(a, indexVariable)))
        {
            return null;
        }

        // Names inside other lambdas (the run of another stack) cannot clash with this lambda's parameters.
        var taken = new HashSet<string>((forward ?? (SyntaxNode)step)
            .DescendantTokens(node => node is not AnonymousFunctionExpressionSyntax || node.Span.Contains(step.Span))
            .Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText));
        string Fresh(string name)
        {
            var candidate = name;
            for (var i = 2; taken.Contains(candidate); i++)
            {
                candidate = name + i;
            }

            taken.Add(candidate);
            return candidate;
        }

        var block = blockVariable ?? Fresh("block");
        var streams = Fresh("streams");
        var method = ((MemberAccessExpressionSyntax)step.Expression).Name.Identifier.ValueText;
        var arguments = string.Join(", ", new[] { streams }.Concat(rest.Select(a => a.ToString())));
        return SyntaxFactory.ParseStatement($"{x} = HyperStreams.Run({x}, {stack.ListExpression.WithoutTrivia()}, ({block}, {streams}) => {block}.{method}({arguments}));")
            .WithAdditionalAnnotations(Simplifier.Annotation);
    }

    /// <summary>
    /// <paramref name="run"/> in the loop's place, keeping the loop's comments: those before it and after it
    /// where they were, those inside it on lines of their own above the run.
    /// </summary>
    private static StatementSyntax WithCommentsOf(StatementSyntax loop, StatementSyntax run, SyntaxTriviaList indentation, string newline)
    {
        var first = loop.GetFirstToken();
        var last = loop.GetLastToken();
        var inner = loop.DescendantTokens()
            .SelectMany(token => token == first ? token.TrailingTrivia : token == last ? token.LeadingTrivia : token.LeadingTrivia.AddRange(token.TrailingTrivia))
            .Where(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.MultiLineCommentTrivia)
                || t.IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia) || t.IsKind(SyntaxKind.MultiLineDocumentationCommentTrivia))
            .ToList();

        // The loop's leading trivia ends with the indentation of its line; the comment lines go just before that.
        var own = loop.GetLeadingTrivia();
        var leading = own.Take(own.Count - (inner.Count > 0 ? indentation.Count : 0)).ToList();
        if (inner.Count > 0)
        {
            foreach (var comment in inner)
            {
                leading.AddRange(indentation);
                leading.Add(comment);
                leading.Add(SyntaxFactory.EndOfLine(newline));
            }

            leading.AddRange(indentation);
        }

        var trailing = last.TrailingTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) ? last.TrailingTrivia : last.TrailingTrivia.Add(SyntaxFactory.EndOfLine(newline));
        return run.WithLeadingTrivia(SyntaxFactory.TriviaList(leading)).WithTrailingTrivia(trailing);
    }

    private static StatementSyntax Line(StatementSyntax statement, SyntaxTriviaList indentation, string newline)
        => statement.WithLeadingTrivia(indentation).WithTrailingTrivia(SyntaxFactory.EndOfLine(newline)).WithAdditionalAnnotations(Simplifier.Annotation);

    private static void AddRuntimeUsing(DocumentEditor editor, SyntaxNode root, string newline)
    {
        if (root is not CompilationUnitSyntax unit
            || unit.Usings.Any(u => u.Name?.ToString() == RuntimeNamespace && u.StaticKeyword.IsKind(SyntaxKind.None) && u.Alias is null)
            || unit.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().Any(n => n.Usings.Any(u => u.Name?.ToString() == RuntimeNamespace)))
        {
            return;
        }

        var directive = SyntaxFactory.UsingDirective(SyntaxFactory.ParseName(RuntimeNamespace))
            .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space))
            .WithTrailingTrivia(SyntaxFactory.EndOfLine(newline));
        editor.ReplaceNode(unit, (node, _) =>
        {
            var current = (CompilationUnitSyntax)node;
            if (current.Usings.Count == 0)
            {
                return current.WithUsings(SyntaxFactory.SingletonList(directive.WithTrailingTrivia(SyntaxFactory.EndOfLine(newline), SyntaxFactory.EndOfLine(newline))));
            }

            // Among the plain usings, in System-first order; static and alias usings stay last.
            var index = 0;
            for (var i = 0; i < current.Usings.Count; i++)
            {
                var existing = current.Usings[i];
                if (existing.StaticKeyword.IsKind(SyntaxKind.None) && existing.Alias is null && UsingOrder(existing.Name?.ToString() ?? "") < 0)
                {
                    index = i + 1;
                }
            }

            if (index == 0)
            {
                // Before the first using, the new one takes over the file's leading trivia (e.g. a header comment).
                var first = current.Usings[0];
                return current.WithUsings(current.Usings.Replace(first, first.WithoutLeadingTrivia()).Insert(0, directive.WithLeadingTrivia(first.GetLeadingTrivia())));
            }

            return current.WithUsings(current.Usings.Insert(index, directive));
        });
    }

    private static int UsingOrder(string name)
    {
        static bool IsSystem(string n) => n == "System" || n.StartsWith("System.", System.StringComparison.Ordinal);
        return IsSystem(name) ? -1 : string.CompareOrdinal(name, RuntimeNamespace);
    }

    /// <summary>The whitespace that starts the line <paramref name="node"/> begins on, whatever precedes the node on that line.</summary>
    private static string LineIndentation(SyntaxNode node)
    {
        var text = node.SyntaxTree.GetText();
        var line = text.Lines.GetLineFromPosition(node.SpanStart).ToString();
        return line.Substring(0, line.Length - line.TrimStart(' ', '\t').Length);
    }

    /// <summary>The whitespace that starts the node's line, so inserted lines line up with it.</summary>
    private static SyntaxTriviaList Indentation(SyntaxNode? node)
    {
        if (node is null)
        {
            return SyntaxFactory.TriviaList();
        }

        var leading = node.GetLeadingTrivia();
        return leading.Count > 0 && leading[leading.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia)
            ? SyntaxFactory.TriviaList(leading[leading.Count - 1])
            : SyntaxFactory.TriviaList();
    }

    private static string NewLine(SyntaxNode root)
    {
        var endOfLine = root.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
        return endOfLine.IsKind(SyntaxKind.EndOfLineTrivia) ? endOfLine.ToString() : "\n";
    }
}
