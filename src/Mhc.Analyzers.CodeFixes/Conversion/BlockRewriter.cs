using System.Collections.Generic;
using System.Linq;
using Mhc.Analyzers.Detection.Blocks;
using Mhc.Analyzers.Detection.Sites;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;

namespace Mhc.Analyzers.Conversion;

/// <summary>
/// Rewrites one block class: each residual site becomes <c>hc_name.forward(x, h =&gt; F(h))</c> (the branch's
/// statements move into the lambda, alias variables of the stream disappear, locals later code reads are
/// declared before the call), the class becomes <c>[HyperConnected] partial</c> (and so does every class around
/// it), and each constructor that builds the object calls the generated <c>InitializeHyperConnections</c>.
/// </summary>
internal static class BlockRewriter
{
    /// <param name="editorOf">The editor of each document the block is declared in (a partial class may span several).</param>
    public static void Rewrite(System.Func<SyntaxTree, DocumentEditor> editorOf, BlockAnalysis block, SyntaxLayout layout)
    {
        var editor = editorOf(block.Declaration.SyntaxTree);
        var sites = block.Sites;
        var moved = new HashSet<StatementSyntax>(sites.SelectMany(s => s.Moved));
        var starts = new HashSet<StatementSyntax>(sites.Where(s => !s.Moved.IsEmpty).Select(s => s.Moved[0]));
        var dropped = new HashSet<StatementSyntax>(block.DroppedAliases);
        var sums = sites.Where(s => s.Statement is not null && s.Statement.Parent is BlockSyntax).ToDictionary(s => s.Statement!);

        // Statement by statement through each list the sites touch: moved and dropped statements go, their comment
        // lines travel on to the next statement that stays, each sum statement becomes its connection call.
        var lists = moved.Concat(dropped).Concat(sums.Keys).Select(s => s.Parent).OfType<BlockSyntax>().Distinct();
        foreach (var list in lists)
        {
            var pending = new List<SyntaxTrivia>();
            foreach (var statement in list.Statements)
            {
                if (dropped.Contains(statement) || moved.Contains(statement))
                {
                    if (dropped.Contains(statement) || starts.Contains(statement))
                    {
                        pending.AddRange(SyntaxLayout.LeadingLines(statement));
                    }

                    editor.RemoveNode(statement, SyntaxRemoveOptions.KeepNoTrivia);
                    continue;
                }

                var carried = pending.ToList();
                pending.Clear();
                if (sums.TryGetValue(statement, out var site))
                {
                    ReplaceSum(editor, site, block.Parameter, layout, carried);
                }
                else if (carried.Count > 0)
                {
                    editor.ReplaceNode(statement, statement.WithLeadingTrivia(SyntaxLayout.WithoutDoubleBlankLines(carried.Concat(statement.GetLeadingTrivia()))));
                }
            }
        }

        // Sums that are no statement of a list: an expression body, the body of an unbraced statement.
        foreach (var site in sites.Where(s => s.Statement is null || s.Statement.Parent is not BlockSyntax))
        {
            var indent = site.Statement is null ? SyntaxLayout.LineIndentation(site.Node) : SyntaxLayout.Indentation(site.Statement).ToFullString();
            var call = SyntaxFactory.ParseExpression(new BranchText(site, block.Parameter, layout).Call(indent));
            editor.ReplaceNode(site.Node, call.WithTriviaFrom(site.Node));
        }

        foreach (var initialization in block.Initializations)
        {
            Initialize(editorOf(initialization.Constructor.SyntaxTree), initialization, layout);
        }

        editor.ReplaceNode(block.Declaration, (node, _) => MarkHyperConnected((ClassDeclarationSyntax)node, layout));
        foreach (var declaration in block.Type.DeclaringSyntaxReferences.Select(r => r.GetSyntax()).OfType<TypeDeclarationSyntax>())
        {
            foreach (var outer in declaration.Ancestors().OfType<TypeDeclarationSyntax>())
            {
                editorOf(outer.SyntaxTree).ReplaceNode(outer, (node, _) => SyntaxLayout.WithPartial((TypeDeclarationSyntax)node));
            }
        }
    }

    /// <summary>
    /// <c>InitializeHyperConnections(channels: w);</c> before the constructor's <c>RegisterComponents()</c>, or at the end of
    /// its body; an expression body (<c>=&gt; RegisterComponents();</c>) becomes a body holding both.
    /// </summary>
    private static void Initialize(DocumentEditor editor, Initialization initialization, SyntaxLayout layout)
    {
        var statement = SyntaxFactory.ParseStatement($"{MhcDefaults.InitializeMethod}(channels: {initialization.Width});");
        var constructor = initialization.Constructor;
        if (initialization.Before is { } before)
        {
            editor.InsertBefore(before, layout.NextTo(before, statement));
            return;
        }

        var outer = SyntaxLayout.LineIndentation(constructor);
        var inner = SyntaxFactory.TriviaList(SyntaxFactory.Whitespace(outer + layout.Unit));
        if (constructor.Body is null && constructor.ExpressionBody is { } arrow)
        {
            var expression = SyntaxFactory.ExpressionStatement(arrow.Expression.WithoutTrivia());
            var statements = ModuleMembers.IsRegisterComponents(arrow.Expression)
                ? new[] { statement, expression }
                : new StatementSyntax[] { expression, statement };
            var body = SyntaxFactory.Block(statements.Select(s => layout.Line(s, inner)))
                .WithOpenBraceToken(SyntaxFactory.Token(SyntaxKind.OpenBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(outer)).WithTrailingTrivia(layout.EndOfLine))
                .WithCloseBraceToken(SyntaxFactory.Token(SyntaxKind.CloseBraceToken).WithLeadingTrivia(SyntaxFactory.Whitespace(outer)).WithTrailingTrivia(constructor.SemicolonToken.TrailingTrivia));
            editor.ReplaceNode(constructor, (node, _) =>
            {
                var current = (ConstructorDeclarationSyntax)node;
                var head = current.WithExpressionBody(null).WithSemicolonToken(default);
                // The body starts on a line of its own, below the constructor's header.
                var last = head.GetLastToken();
                head = head.ReplaceToken(last, last.WithTrailingTrivia(layout.EndOfLine));
                return head.WithBody(body);
            });
            return;
        }

        var block = constructor.Body!;
        var indentation = block.Statements.Count > 0 ? SyntaxLayout.Indentation(block.Statements.Last()) : inner;
        editor.ReplaceNode(block, (node, _) => ((BlockSyntax)node).AddStatements(layout.Line(statement, indentation)));
    }

    /// <summary>The sum's statement as the connection call, with the locals it hoists declared before it.</summary>
    private static void ReplaceSum(DocumentEditor editor, ResidualSite site, string parameter, SyntaxLayout layout, List<SyntaxTrivia> carried)
    {
        var statement = site.Statement!;
        var indentation = SyntaxLayout.Indentation(statement);
        var indent = indentation.ToFullString();
        var call = new BranchText(site, parameter, layout).Call(indent);
        string code;
        switch (site.Form)
        {
            case ResultForm.AssignStatement:
                code = $"{site.TargetName} = {call};";
                break;
            case ResultForm.DeclareStatement:
                code = $"{site.DeclaredType} {site.TargetName} = {call};";
                break;
            default:
                var text = statement.ToString();
                var start = site.Node.SpanStart - statement.SpanStart;
                code = text.Substring(0, start) + call + text.Substring(start + site.Node.Span.Length);
                break;
        }

        var replacements = new List<StatementSyntax>();
        foreach (var hoisted in site.Hoisted)
        {
            replacements.Add(SyntaxFactory.ParseStatement($"{hoisted.TypeText} {hoisted.Local.Name} = {hoisted.Initial};").WithLeadingTrivia(indentation).WithTrailingTrivia(layout.EndOfLine));
        }

        replacements.Add(SyntaxFactory.ParseStatement(code).WithLeadingTrivia(indentation).WithTrailingTrivia(statement.GetTrailingTrivia()));
        // On top: the lines carried over from the statements that went (where the connection now starts), then the
        // sum's own comments; its blank lines stay behind when the branch's statements moved into the call.
        var own = site.Moved.IsEmpty
            ? statement.GetLeadingTrivia()
            : SyntaxFactory.TriviaList(SyntaxLayout.CommentLines(statement).Concat(indentation));
        replacements[0] = replacements[0].WithLeadingTrivia(SyntaxLayout.WithoutDoubleBlankLines(carried.Concat(own)));
        editor.InsertBefore(statement, replacements.Take(replacements.Count - 1));
        editor.ReplaceNode(statement, replacements.Count == 1 ? replacements[0] : replacements[replacements.Count - 1]);
    }

    private static ClassDeclarationSyntax MarkHyperConnected(ClassDeclarationSyntax declaration, SyntaxLayout layout)
    {
        var attribute = SyntaxFactory.AttributeList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Attribute(SyntaxFactory.IdentifierName("HyperConnected"))));
        var first = declaration.GetFirstToken();
        var indentation = SyntaxLayout.Indentation(declaration);
        if (declaration.AttributeLists.Count == 0)
        {
            // The attribute takes over the class's leading trivia (comments, doc comments) and the class keeps its indentation.
            attribute = attribute.WithLeadingTrivia(first.LeadingTrivia).WithTrailingTrivia(layout.EndOfLine);
            declaration = declaration.ReplaceToken(first, first.WithLeadingTrivia(indentation));
            declaration = declaration.WithAttributeLists(SyntaxFactory.SingletonList(attribute));
        }
        else
        {
            declaration = declaration.AddAttributeLists(attribute.WithLeadingTrivia(indentation).WithTrailingTrivia(layout.EndOfLine));
        }

        return (ClassDeclarationSyntax)SyntaxLayout.WithPartial(declaration);
    }
}
