using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Simplification;

namespace Mhc.Analyzers.Conversion;

/// <summary>
/// How inserted code lines up with the user's: the file's newline and indentation unit, a statement's
/// indentation, comment lines that move with a statement, and the <c>using Mhc.Runtime;</c> directive.
/// </summary>
internal sealed class SyntaxLayout
{
    private const string RuntimeNamespace = "Mhc.Runtime";

    private SyntaxLayout(string newline, string unit)
    {
        Newline = newline;
        Unit = unit;
    }

    public string Newline { get; }

    /// <summary>One level of indentation: four spaces, or a tab in files indented with tabs.</summary>
    public string Unit { get; }

    public static SyntaxLayout Of(SyntaxNode root)
    {
        var endOfLine = root.DescendantTrivia().FirstOrDefault(t => t.IsKind(SyntaxKind.EndOfLineTrivia));
        var newline = endOfLine.IsKind(SyntaxKind.EndOfLineTrivia) ? endOfLine.ToString() : "\n";
        var tabs = root.DescendantTrivia().Any(t => t.IsKind(SyntaxKind.WhitespaceTrivia) && t.ToString().StartsWith("\t", System.StringComparison.Ordinal));
        return new SyntaxLayout(newline, tabs ? "\t" : "    ");
    }

    public SyntaxTrivia EndOfLine => SyntaxFactory.EndOfLine(Newline);

    /// <summary>The whitespace that starts the node's line (its leading trivia's last whitespace), so inserted lines line up with it.</summary>
    public static SyntaxTriviaList Indentation(SyntaxNode? node)
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

    /// <summary>The whitespace that starts the line <paramref name="node"/> begins on, whatever precedes the node on that line.</summary>
    public static string LineIndentation(SyntaxNode node)
    {
        var text = node.SyntaxTree.GetText();
        var line = text.Lines.GetLineFromPosition(node.SpanStart).ToString();
        return line.Substring(0, line.Length - line.TrimStart(' ', '\t').Length);
    }

    /// <summary>
    /// A statement to insert next to <paramref name="anchor"/> (before or after it): on a line of its own where the anchor
    /// starts its line, else on the anchor's line (<c>{ fc = Linear(d, d); RegisterComponents(); }</c> stays on one line).
    /// </summary>
    public StatementSyntax NextTo(SyntaxNode anchor, StatementSyntax statement)
        => StartsLine(anchor)
            ? Line(statement, Indentation(anchor))
            : statement.WithLeadingTrivia().WithTrailingTrivia(SyntaxFactory.Space).WithAdditionalAnnotations(Simplifier.Annotation);

    /// <summary>Whether nothing but whitespace precedes the node on its line.</summary>
    private static bool StartsLine(SyntaxNode node)
    {
        var text = node.SyntaxTree.GetText();
        var line = text.Lines.GetLineFromPosition(node.SpanStart);
        return text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(line.Start, node.SpanStart)).Trim().Length == 0;
    }

    /// <summary>A statement on a line of its own at <paramref name="indentation"/>, marked for simplification.</summary>
    public StatementSyntax Line(StatementSyntax statement, SyntaxTriviaList indentation)
        => statement.WithLeadingTrivia(indentation).WithTrailingTrivia(EndOfLine).WithAdditionalAnnotations(Simplifier.Annotation);

    /// <summary>
    /// The whole lines of a statement's leading trivia (comments, blank lines), without the indentation of the
    /// statement's own line: what moves when the statement goes.
    /// </summary>
    public static IEnumerable<SyntaxTrivia> LeadingLines(SyntaxNode statement)
    {
        var leading = statement.GetLeadingTrivia();
        var last = -1;
        for (var i = 0; i < leading.Count; i++)
        {
            // A directive (#region) is a whole line; its newline is inside it.
            if (leading[i].IsKind(SyntaxKind.EndOfLineTrivia) || leading[i].IsDirective)
            {
                last = i;
            }
        }

        return leading.Take(last + 1);
    }

    /// <summary>The lines of a statement's leading trivia that hold a comment or a directive, each with its indentation and newline.</summary>
    public static IEnumerable<SyntaxTrivia> CommentLines(SyntaxNode statement)
    {
        var line = new List<SyntaxTrivia>();
        foreach (var trivia in LeadingLines(statement))
        {
            line.Add(trivia);
            if (trivia.IsKind(SyntaxKind.EndOfLineTrivia) || trivia.IsDirective)
            {
                if (line.Any(t => IsComment(t) || t.IsDirective))
                {
                    foreach (var kept in line)
                    {
                        yield return kept;
                    }
                }

                line.Clear();
            }
        }
    }

    private static bool IsComment(SyntaxTrivia t)
        => t.IsKind(SyntaxKind.SingleLineCommentTrivia) || t.IsKind(SyntaxKind.MultiLineCommentTrivia)
           || t.IsKind(SyntaxKind.SingleLineDocumentationCommentTrivia) || t.IsKind(SyntaxKind.MultiLineDocumentationCommentTrivia);

    /// <summary>Leading trivia with runs of blank lines (lines of only whitespace) cut to one, as happens when two statements' lines meet.</summary>
    public static SyntaxTriviaList WithoutDoubleBlankLines(IEnumerable<SyntaxTrivia> trivia)
    {
        var kept = new List<SyntaxTrivia>();
        var blank = false;
        var line = new List<SyntaxTrivia>();
        foreach (var t in trivia)
        {
            line.Add(t);
            if (!t.IsKind(SyntaxKind.EndOfLineTrivia) && !t.IsDirective)
            {
                continue;
            }

            var isBlank = line.All(x => x.IsKind(SyntaxKind.WhitespaceTrivia) || x.IsKind(SyntaxKind.EndOfLineTrivia));
            if (!(isBlank && blank))
            {
                kept.AddRange(line);
            }

            blank = isBlank;
            line.Clear();
        }

        kept.AddRange(line);
        return SyntaxFactory.TriviaList(kept);
    }

    /// <summary>Adds <c>using Mhc.Runtime;</c> among the plain usings (System first), unless the file has it.</summary>
    public void AddRuntimeUsing(DocumentEditor editor, SyntaxNode root)
    {
        if (root is not CompilationUnitSyntax unit
            || unit.Usings.Any(u => u.Name?.ToString() == RuntimeNamespace && u.StaticKeyword.IsKind(SyntaxKind.None) && u.Alias is null)
            || unit.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>().Any(n => n.Usings.Any(u => u.Name?.ToString() == RuntimeNamespace)))
        {
            return;
        }

        var directive = SyntaxFactory.UsingDirective(SyntaxFactory.ParseName(RuntimeNamespace))
            .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space))
            .WithTrailingTrivia(EndOfLine);
        editor.ReplaceNode(unit, (node, _) =>
        {
            var current = (CompilationUnitSyntax)node;
            if (current.Usings.Count == 0)
            {
                return current.WithUsings(SyntaxFactory.SingletonList(directive.WithTrailingTrivia(EndOfLine, EndOfLine)));
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

    /// <summary>Adds <c>partial</c> to a type declaration's modifiers, keeping its leading trivia where it was.</summary>
    public static TypeDeclarationSyntax WithPartial(TypeDeclarationSyntax declaration)
    {
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
}
