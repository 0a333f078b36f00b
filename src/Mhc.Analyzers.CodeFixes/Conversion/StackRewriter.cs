using System.Collections.Generic;
using System.Linq;
using Mhc.Analyzers.Detection.Stacks;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Simplification;

namespace Mhc.Analyzers.Conversion;

/// <summary>
/// Rewrites where a model runs converted blocks so that the stack runs on n streams: Expand before the loop and
/// Reduce after it (or around a Sequential's call), reads of the stream inside the loop reduced first, a loop
/// that runs every block in order turned into <c>HyperStreams.Run</c>, and <c>AssignLayerIndices</c> after the
/// model's registration.
/// </summary>
internal static class StackRewriter
{
    /// <param name="convertedNow">The other stacks this conversion rewrites, by loop: adjacent ones share one Expand and one Reduce.</param>
    public static void Rewrite(DocumentEditor editor, StackRun run, SyntaxLayout layout, IReadOnlyDictionary<SyntaxNode, StackRun> convertedNow)
    {
        var streams = StreamsConstant(run, editor.SemanticModel);
        if (run.Shape == StackShape.Sequential)
        {
            var call = run.Calls[0];
            var input = run.SequentialInput!;
            var expanded = call.ReplaceNode(input, SyntaxFactory.ParseExpression($"HyperStreams.Expand({input.WithoutTrivia()}, {streams})").WithTriviaFrom(input));
            editor.ReplaceNode(call, SyntaxFactory.ParseExpression($"HyperStreams.Reduce({expanded.WithoutTrivia()})").WithTriviaFrom(call));
            return;
        }

        var inner = run.Loop!;
        var loop = run.Outer ?? inner;
        if (ExpandedAlready(loop, run.StreamVariable))
        {
            return;
        }

        var x = run.StreamVariable;
        var indentation = SyntaxLayout.Indentation(loop);
        var expand = layout.Line(SyntaxFactory.ParseStatement($"{x} = HyperStreams.Expand({x}, {streams});"), indentation);
        var reduce = layout.Line(SyntaxFactory.ParseStatement($"{x} = HyperStreams.Reduce({x});"), indentation);

        // Two stacks one after the other (an encoder's blocks, then a decoder's) share their streams: no Reduce and
        // Expand between them, which would make the streams identical again (MHC1001).
        var (previous, next) = Neighbours(loop);
        var continuesFrom = IsStreamsCall(previous, "Reduce", x) || (previous is not null && convertedNow.TryGetValue(previous, out var before) && before.StreamVariable == x);
        var continuesInto = IsStreamsCall(next, "Expand", x) || (next is not null && convertedNow.TryGetValue(next, out var after) && after.StreamVariable == x);
        if (IsStreamsCall(previous, "Reduce", x))
        {
            editor.RemoveNode(previous!, SyntaxRemoveOptions.KeepNoTrivia);
        }

        if (IsStreamsCall(next, "Expand", x))
        {
            editor.RemoveNode(next!, SyntaxRemoveOptions.KeepNoTrivia);
        }

        // Preprocessor directives inside the loop would be lost in a run: such a loop stays as written.
        StatementSyntax rewritten = inner;
        if (!inner.WithoutLeadingTrivia().ContainsDirectives && run.Run is { } form && RunStatement(run, form, inner.FirstAncestorOrSelf<MethodDeclarationSyntax>()) is { } statement)
        {
            rewritten = WithCommentsOf(inner, statement, SyntaxLayout.Indentation(inner), layout);
        }
        else if (!run.OtherReads.IsEmpty)
        {
            // allHidden.Add(x) inside the loop sees one stream, as before the conversion.
            rewritten = inner.ReplaceNodes(run.OtherReads, (read, _) => SyntaxFactory.ParseExpression($"HyperStreams.Reduce({read.Identifier.ValueText})").WithTriviaFrom(read));
        }

        // The loop repeated by a loop around it stays inside it; Expand and Reduce go around the outer one.
        StatementSyntax stack = rewritten == inner ? loop : loop == inner ? rewritten : loop.ReplaceNode(inner, rewritten);

        var leading = loop.GetLeadingTrivia();
        if (leading.Any(t => t.IsDirective))
        {
            // The loop's leading trivia opens an #if around it: Expand takes that trivia, so that it sits
            // inside the #if with the loop and the Reduce after it.
            expand = expand.WithLeadingTrivia(leading);
            stack = stack.WithLeadingTrivia(stack.GetLeadingTrivia().Skip(leading.Count - indentation.Count));
        }
        else if (!continuesFrom && leading.TakeWhile(t => t.IsKind(SyntaxKind.WhitespaceTrivia) || t.IsKind(SyntaxKind.EndOfLineTrivia)).Count(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) > 0)
        {
            // The blank lines that set the loop apart go above Expand, which belongs to the stack.
            var lines = leading.TakeWhile(t => t.IsKind(SyntaxKind.WhitespaceTrivia) || t.IsKind(SyntaxKind.EndOfLineTrivia)).ToList();
            var cut = lines.FindLastIndex(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) + 1;
            expand = expand.WithLeadingTrivia(leading.Take(cut).Concat(indentation));
            stack = stack.WithLeadingTrivia(stack.GetLeadingTrivia().Skip(cut));
        }

        if (loop.Parent is BlockSyntax or SwitchSectionSyntax)
        {
            if (!continuesFrom)
            {
                editor.InsertBefore(loop, expand);
            }

            if (!continuesInto)
            {
                editor.InsertAfter(loop, reduce);
            }

            if (stack != loop)
            {
                editor.ReplaceNode(loop, stack);
            }

            return;
        }

        // The loop is the body of an unbraced using, if or loop: the three statements need a block of their
        // own. Its braces line up with the line the enclosing statement starts on (`else if (...)` too), the
        // statements one level in, also where the loop shared that line (`else foreach (...) ...`).
        var outer = SyntaxLayout.LineIndentation(loop.Parent!);
        var innerIndentation = SyntaxFactory.Whitespace(outer + layout.Unit);
        SyntaxTriviaList Reindented(SyntaxTriviaList trivia)
        {
            var list = trivia.Select(t => t.IsKind(SyntaxKind.WhitespaceTrivia) ? innerIndentation : t).ToList();
            if (list.Count == 0 || !list[list.Count - 1].IsKind(SyntaxKind.WhitespaceTrivia))
            {
                list.Add(innerIndentation);
            }

            return SyntaxFactory.TriviaList(list);
        }

        var ownLine = loop.GetFirstToken().GetPreviousToken().TrailingTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
        var body = SyntaxFactory.Block(
                expand.WithLeadingTrivia(Reindented(expand.GetLeadingTrivia())),
                stack.WithLeadingTrivia(Reindented(stack.GetLeadingTrivia())),
                reduce.WithLeadingTrivia(Reindented(reduce.GetLeadingTrivia())))
            .WithOpenBraceToken(SyntaxFactory.Token(SyntaxKind.OpenBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(outer)).WithTrailingTrivia(layout.EndOfLine))
            .WithCloseBraceToken(SyntaxFactory.Token(SyntaxKind.CloseBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(outer)).WithTrailingTrivia(layout.EndOfLine));
        if (ownLine)
        {
            editor.ReplaceNode(loop, body);
            return;
        }

        // The brace opens a line of its own: the token before the loop ends its line there. The editor hands
        // over its tracked copy of the parent, in which the loop is the embedded statement.
        editor.ReplaceNode(loop.Parent!, (parent, _) =>
        {
            var embedded = parent.ChildNodes().OfType<StatementSyntax>().Last();
            var before = embedded.GetFirstToken().GetPreviousToken();
            return parent.ReplaceSyntax(
                new[] { embedded }, (_, _) => body,
                new[] { before }, (_, token) => token.WithTrailingTrivia(layout.EndOfLine),
                System.Array.Empty<SyntaxTrivia>(), (_, trivia) => trivia);
        });
    }

    /// <summary>
    /// <c>HyperConnections.AssignLayerIndices(this);</c> after the model's <c>RegisterComponents()</c>, once: the
    /// connections are numbered across the whole model.
    /// </summary>
    public static void AssignLayerIndices(DocumentEditor editor, TypeDeclarationSyntax owner, SyntaxLayout layout)
    {
        if (owner.DescendantNodes().OfType<IdentifierNameSyntax>().Any(id => id.Identifier.ValueText == "AssignLayerIndices"))
        {
            return;
        }

        foreach (var constructor in ModuleMembers.RootConstructors(owner))
        {
            if (ModuleMembers.RegisterComponents(constructor) is { } register)
            {
                var assign = SyntaxFactory.ParseStatement("HyperConnections.AssignLayerIndices(this);");
                editor.InsertAfter(register, layout.NextTo(register, assign));
            }
        }
    }

    private static (StatementSyntax? Previous, StatementSyntax? Next) Neighbours(StatementSyntax statement)
    {
        var siblings = statement.Parent switch
        {
            BlockSyntax block => block.Statements,
            SwitchSectionSyntax section => section.Statements,
            _ => default,
        };
        var index = siblings.IndexOf(statement);
        return index < 0 ? (null, null) : (index > 0 ? siblings[index - 1] : null, index < siblings.Count - 1 ? siblings[index + 1] : null);
    }

    /// <summary><c>x = HyperStreams.Reduce(x);</c> (or Expand) of the stream variable.</summary>
    private static bool IsStreamsCall(StatementSyntax? statement, string method, string variable)
        => statement is ExpressionStatementSyntax
           {
               Expression: AssignmentExpressionSyntax
               {
                   Left: IdentifierNameSyntax target,
                   Right: InvocationExpressionSyntax
                   {
                       Expression: MemberAccessExpressionSyntax { Expression: IdentifierNameSyntax { Identifier.ValueText: "HyperStreams" }, Name.Identifier.ValueText: var name },
                       ArgumentList.Arguments: [{ Expression: IdentifierNameSyntax argument }, ..],
                   },
               },
           }
           && name == method && target.Identifier.ValueText == variable && argument.Identifier.ValueText == variable;

    /// <summary><c>Block.HyperConnectionStreams</c> as the owner can name it.</summary>
    private static string StreamsConstant(StackRun run, SemanticModel model)
        => run.Block.ToMinimalDisplayString(model, run.Node.SpanStart) + "." + MhcDefaults.StreamsConstant;

    /// <summary>
    /// True when the statement before the loop already widens its stream variable; each stack of a model
    /// (an encoder's and a decoder's) is checked on its own.
    /// </summary>
    private static bool ExpandedAlready(StatementSyntax loop, string streamVariable)
        => loop.Parent is BlockSyntax block
           && block.Statements.IndexOf(loop) is > 0 and var index
           && IsStreamsCall(block.Statements[index - 1], "Expand", streamVariable);

    /// <summary>
    /// <c>x = HyperStreams.Run(x, h, (block, streams) =&gt; block.forward(streams, ...));</c> for a loop that runs every
    /// block of the list in order, so the runtime can free superseded stream states and recompute.
    /// </summary>
    private static StatementSyntax? RunStatement(StackRun run, RunForm form, MethodDeclarationSyntax? method)
    {
        var step = form.Step;
        var x = run.StreamVariable;
        var rest = step.ArgumentList.Arguments.Skip(1).ToList();

        // Names inside other lambdas (the run of another stack) cannot clash with this lambda's parameters.
        var taken = new HashSet<string>((method ?? (SyntaxNode)step)
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

        var block = form.BlockVariable ?? Fresh("block");
        var streams = Fresh("streams");
        var method2 = ((MemberAccessExpressionSyntax)step.Expression).Name.Identifier.ValueText;
        var arguments = string.Join(", ", new[] { streams }.Concat(rest.Select(a => a.ToString())));
        return SyntaxFactory.ParseStatement($"{x} = HyperStreams.Run({x}, {form.List.WithoutTrivia()}, ({block}, {streams}) => {block}.{method2}({arguments}));")
            .WithAdditionalAnnotations(Simplifier.Annotation);
    }

    /// <summary>
    /// <paramref name="run"/> in the loop's place, keeping the loop's comments: those before it and after it
    /// where they were, those inside it on lines of their own above the run.
    /// </summary>
    private static StatementSyntax WithCommentsOf(StatementSyntax loop, StatementSyntax run, SyntaxTriviaList indentation, SyntaxLayout layout)
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
                leading.Add(layout.EndOfLine);
            }

            leading.AddRange(indentation);
        }

        var trailing = last.TrailingTrivia.Any(t => t.IsKind(SyntaxKind.EndOfLineTrivia)) ? last.TrailingTrivia : last.TrailingTrivia.Add(layout.EndOfLine);
        return run.WithLeadingTrivia(SyntaxFactory.TriviaList(leading)).WithTrailingTrivia(trailing);
    }
}
