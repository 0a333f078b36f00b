using System;
using System.Linq;
using System.Text;
using Mhc.Analyzers.Detection.Sites;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Conversion;

/// <summary>
/// The text of a connection call: <c>hc_attn.forward(x, h =&gt; attn(ln(h)))</c>, or, when the branch is spread over
/// statements, a block lambda holding them, each as the user wrote it with the site's renames applied.
/// </summary>
internal sealed class BranchText
{
    private readonly ResidualSite _site;
    private readonly string _parameter;
    private readonly SyntaxLayout _layout;

    public BranchText(ResidualSite site, string parameter, SyntaxLayout layout)
    {
        _site = site;
        _parameter = parameter;
        _layout = layout;
    }

    /// <param name="indent">The indentation of the line the call's statement starts on.</param>
    public string Call(string indent)
    {
        var branch = string.Join(" + ", _site.BranchOperands.Select(o => Render(o).Trim()));
        var head = $"{_site.ConnectionName}.forward({_site.Argument}, {_parameter} =>";
        if (_site.Moved.IsEmpty)
        {
            return $"{head} {branch})";
        }

        var inner = indent + _layout.Unit;
        var text = new StringBuilder(head).Append(_layout.Newline).Append(indent).Append('{').Append(_layout.Newline);
        for (var i = 0; i < _site.Moved.Length; i++)
        {
            // The first statement's comments stay outside, above the call: they describe the whole connection.
            var statement = _site.Moved[i];
            text.Append(Reindent(Statement(statement, keepLeadingComments: i > 0), SyntaxLayout.Indentation(statement).ToFullString(), inner));
        }

        return text.Append(inner).Append("return ").Append(branch).Append(';').Append(_layout.Newline)
            .Append(indent).Append("})").ToString();
    }

    /// <summary>A moved statement with its renames, as a declaration turned into an assignment where the plan says so.</summary>
    private string Statement(StatementSyntax statement, bool keepLeadingComments)
    {
        var leading = keepLeadingComments ? statement.GetLeadingTrivia().ToFullString() : SyntaxLayout.Indentation(statement).ToFullString();
        var trailing = statement.GetTrailingTrivia().ToFullString();
        if (!_site.RewrittenStatements.TryGetValue(statement, out var rewrite))
        {
            return leading + RenderWithoutTrivia(statement) + trailing;
        }

        if (rewrite.Kind == RewriteKind.Deconstruct
            && statement is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: DeclarationExpressionSyntax { Designation: ParenthesizedVariableDesignationSyntax designation } } deconstruction })
        {
            // (var attn, weights) = ...: the elements declared before the call are assigned, the others declared here.
            var parts = designation.Variables.Select(v => v switch
            {
                SingleVariableDesignationSyntax single when rewrite.Hoisted!.Contains(single.Identifier.ValueText) => single.Identifier.ValueText,
                SingleVariableDesignationSyntax single => "var " + single.Identifier.ValueText,
                _ => "_",
            });
            return leading + "(" + string.Join(", ", parts) + ") = " + Render(deconstruction.Right).Trim() + ";" + trailing;
        }

        if (rewrite.Kind == RewriteKind.Deconstruct
            && statement is ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax { Left: TupleExpressionSyntax tuple } mixed })
        {
            // (h, var weights) = ...: the hoisted declarations become assignments, the rest keeps its renames.
            var parts = tuple.Arguments.Select(a => a.Expression is DeclarationExpressionSyntax { Designation: SingleVariableDesignationSyntax single }
                && rewrite.Hoisted!.Contains(single.Identifier.ValueText)
                    ? single.Identifier.ValueText
                    : Render(a.Expression).Trim());
            return leading + "(" + string.Join(", ", parts) + ") = " + Render(mixed.Right).Trim() + ";" + trailing;
        }

        var (name, value) = statement switch
        {
            LocalDeclarationStatementSyntax { Declaration.Variables: [var variable] } => (
                _site.Renames.TryGetValue(variable, out var renamed) ? renamed : variable.Identifier.ValueText,
                variable.Initializer!.Value),
            ExpressionStatementSyntax { Expression: AssignmentExpressionSyntax assignment } => (
                _site.Renames.TryGetValue(assignment.Left, out var renamed) ? renamed : assignment.Left.ToString(),
                assignment.Right),
            _ => throw new InvalidOperationException("Only single declarations, assignments and deconstructions are rewritten."),
        };
        var head = rewrite.Kind == RewriteKind.DeclareAssigned ? "var " + name : name;
        return leading + head + " = " + Render(value).Trim() + ";" + trailing;
    }

    /// <summary>The node's text with the site's renames applied (reads of the stream become the parameter, and so on).</summary>
    public string Render(SyntaxNode node)
    {
        var text = new StringBuilder();
        Append(node, text);
        return text.ToString();
    }

    /// <summary>As <see cref="Render"/>, without the node's own leading and trailing trivia.</summary>
    private string RenderWithoutTrivia(SyntaxNode node)
    {
        var full = Render(node);
        var leading = node.GetLeadingTrivia().FullSpan.Length;
        var trailing = node.GetTrailingTrivia().FullSpan.Length;
        return full.Substring(leading, full.Length - leading - trailing);
    }

    private void Append(SyntaxNode node, StringBuilder text)
    {
        if (node is not VariableDeclaratorSyntax && _site.Renames.TryGetValue(node, out var replacement))
        {
            text.Append(node.GetLeadingTrivia().ToFullString()).Append(replacement).Append(node.GetTrailingTrivia().ToFullString());
            return;
        }

        foreach (var child in node.ChildNodesAndTokens())
        {
            if (child.IsNode)
            {
                Append(child.AsNode()!, text);
            }
            else
            {
                text.Append(child.AsToken().ToFullString());
            }
        }
    }

    /// <summary>Moves every line of a statement from its indentation to <paramref name="to"/>, keeping the rest of each line's indentation.</summary>
    private string Reindent(string statement, string from, string to)
    {
        var lines = statement.Replace("\r\n", "\n").Split('\n');
        var text = new StringBuilder();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (i == lines.Length - 1 && line.Length == 0)
            {
                break;
            }

            if (line.Trim().Length == 0)
            {
                text.Append(_layout.Newline);
                continue;
            }

            var body = line.StartsWith(from, StringComparison.Ordinal) ? line.Substring(from.Length) : line.TrimStart(' ', '\t');
            text.Append(to).Append(body).Append(_layout.Newline);
        }

        return text.ToString();
    }
}
