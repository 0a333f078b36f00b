using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Mhc.Analyzers.Detection;
using Mhc.Analyzers.Vocabulary;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Editing;
using Microsoft.CodeAnalysis.Text;

namespace Mhc.Analyzers.Conversion;

/// <summary>
/// Converts one block class and every stack that runs it, in whatever documents they are: the block's sites
/// (<see cref="BlockRewriter"/>), the models' loops and Sequentials (<see cref="StackRewriter"/>), and the
/// <c>using Mhc.Runtime;</c> each edited file needs. The plan is the analyzer's own, so the fix does exactly
/// what MHC0001 promised.
/// </summary>
internal static class ModelConverter
{
    /// <summary>Returns null when the class at <paramref name="span"/> cannot (or need not) be converted.</summary>
    public static async Task<Solution?> ConvertAsync(Document document, TextSpan span, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        if (root is null || model is null
            || root.FindNode(span).FirstAncestorOrSelf<ClassDeclarationSyntax>() is not { } declaration
            || TorchSymbols.Create(model.Compilation) is not { } symbols
            || model.GetDeclaredSymbol(declaration, cancellationToken) is not INamedTypeSymbol type
            || symbols.IsHyperConnected(type))
        {
            return null;
        }

        var plan = ConversionPlan.Build(model.Compilation, symbols, document.Project.AnalyzerOptions.AnalyzerConfigOptionsProvider, cancellationToken);
        if (plan.Block(type) is not { } block || !block.IsConvertible || plan.ProblemOf(block) is not null)
        {
            return null;
        }

        var solution = document.Project.Solution;
        var editors = new SolutionEditor(solution);
        var layout = SyntaxLayout.Of(root);
        var blockDocument = solution.GetDocument(block.Declaration.SyntaxTree);
        if (blockDocument is null)
        {
            return null;
        }

        // Every document of the (possibly partial) block, and of the classes around it, gets an editor up front.
        var edited = new System.Collections.Generic.List<DocumentId> { blockDocument.Id };
        var blockEditors = new System.Collections.Generic.Dictionary<SyntaxTree, DocumentEditor>();
        foreach (var tree in type.DeclaringSyntaxReferences.Select(r => r.SyntaxTree).Distinct())
        {
            if (solution.GetDocument(tree) is not { } part)
            {
                return null;
            }

            blockEditors[tree] = await editors.GetDocumentEditorAsync(part.Id, cancellationToken).ConfigureAwait(false);
            edited.Add(part.Id);
        }

        BlockRewriter.Rewrite(tree => blockEditors[tree], block, layout);

        var runs = plan.StacksOf(type).Distinct().ToList();
        var loops = runs.Where(r => r.Loop is not null).ToDictionary(r => (SyntaxNode)(r.Outer ?? r.Loop!));
        var owners = new System.Collections.Generic.HashSet<TypeDeclarationSyntax>();
        foreach (var run in runs)
        {
            if (solution.GetDocument(run.Node.SyntaxTree) is not { } ownerDocument)
            {
                return null;
            }

            var editor = await editors.GetDocumentEditorAsync(ownerDocument.Id, cancellationToken).ConfigureAwait(false);
            StackRewriter.Rewrite(editor, run, layout, loops);
            // Once per model, however many of its methods run the stack.
            if (run.Node.FirstAncestorOrSelf<TypeDeclarationSyntax>(t => t is ClassDeclarationSyntax) is { } owner && owners.Add(owner))
            {
                StackRewriter.AssignLayerIndices(editor, owner, layout);
            }

            edited.Add(ownerDocument.Id);
        }

        foreach (var id in edited.Distinct())
        {
            var editor = await editors.GetDocumentEditorAsync(id, cancellationToken).ConfigureAwait(false);
            layout.AddRuntimeUsing(editor, editor.OriginalRoot);
        }

        return editors.GetChangedSolution();
    }
}
