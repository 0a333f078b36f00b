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
    public static void Rewrite(DocumentEditor editor, BlockAnalysis block, SyntaxLayout layout)
    {
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
            var statement = SyntaxFactory.ParseStatement($"{MhcDefaults.InitializeMethod}(channels: {initialization.Width});");
            if (initialization.Before is { } before)
            {
                editor.InsertBefore(before, layout.Line(statement, SyntaxLayout.Indentation(before)));
            }
            else
            {
                var body = initialization.Constructor.Body!;
                var indentation = body.Statements.Count > 0
                    ? SyntaxLayout.Indentation(body.Statements.Last())
                    : SyntaxFactory.TriviaList(SyntaxFactory.Whitespace(SyntaxLayout.LineIndentation(body) + layout.Unit));
                editor.ReplaceNode(body, (node, _) => ((BlockSyntax)node).AddStatements(layout.Line(statement, indentation)));
            }
        }

        editor.ReplaceNode(block.Declaration, (node, _) => MarkHyperConnected((ClassDeclarationSyntax)node, layout));
        foreach (var outer in block.Declaration.Ancestors().OfType<TypeDeclarationSyntax>())
        {
            editor.ReplaceNode(outer, (node, _) => SyntaxLayout.WithPartial((TypeDeclarationSyntax)node));
        }
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
