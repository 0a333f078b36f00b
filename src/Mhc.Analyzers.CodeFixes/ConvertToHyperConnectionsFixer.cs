using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers;

/// <summary>MHC0001's fix: converts the block that holds the site, and the model that stacks it, in one step.</summary>
[ExportCodeFixProvider(Microsoft.CodeAnalysis.LanguageNames.CSharp, Name = nameof(ConvertToHyperConnectionsFixer))]
[Shared]
public sealed class ConvertToHyperConnectionsFixer : CodeFixProvider
{
    internal const string Title = "Convert to manifold-constrained hyper-connections";

    /// <summary>The title where the project does not reference Mhc.Runtime yet: the converted code needs it to build.</summary>
    internal const string TitleWithoutRuntime = Title + " (then add the Mhc.Runtime package: the converted code uses it)";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(RuleIdentifiers.ResidualConnectionFound);

    // Every site of a block is converted by one fix, so the batch fixer's merge of per-site edits would conflict.
    public override FixAllProvider GetFixAllProvider() => ConvertAllFixAllProvider.Instance;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var diagnostic = context.Diagnostics[0];
        var document = context.Document;
        var model = await document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        var hasRuntime = model?.Compilation.GetTypeByMetadataName("Mhc.Runtime.HyperStreams") is not null;
        context.RegisterCodeFix(
            CodeAction.Create(
                hasRuntime ? Title : TitleWithoutRuntime,
                async ct => await Conversion.ModelConverter.ConvertAsync(document, diagnostic.Location.SourceSpan, ct).ConfigureAwait(false) ?? document.Project.Solution,
                equivalenceKey: Title),
            diagnostic);
    }

    /// <summary>Converts each distinct block once, re-finding it in the solution produced by the previous conversion.</summary>
    private sealed class ConvertAllFixAllProvider : FixAllProvider
    {
        public static readonly ConvertAllFixAllProvider Instance = new();

        public override async Task<CodeAction?> GetFixAsync(FixAllContext fixAllContext)
        {
            var documents = fixAllContext.Scope switch
            {
                FixAllScope.Document when fixAllContext.Document is not null => new[] { fixAllContext.Document },
                FixAllScope.Project => fixAllContext.Project.Documents.ToArray(),
                FixAllScope.Solution => fixAllContext.Solution.Projects.SelectMany(p => p.Documents).ToArray(),
                _ => System.Array.Empty<Document>(),
            };

            var blocks = new List<(DocumentId Document, string Block)>();
            foreach (var document in documents)
            {
                var diagnostics = await fixAllContext.GetDocumentDiagnosticsAsync(document).ConfigureAwait(false);
                var root = await document.GetSyntaxRootAsync(fixAllContext.CancellationToken).ConfigureAwait(false);
                foreach (var diagnostic in diagnostics)
                {
                    var declaration = root?.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<ClassDeclarationSyntax>();
                    var key = (document.Id, declaration?.Identifier.ValueText ?? "");
                    if (declaration is not null && !blocks.Contains(key))
                    {
                        blocks.Add(key);
                    }
                }
            }

            return blocks.Count == 0 ? null : CodeAction.Create(
                Title,
                ct => ConvertAllAsync(fixAllContext.Solution, blocks, ct),
                equivalenceKey: Title);
        }

        private static async Task<Solution> ConvertAllAsync(Solution solution, List<(DocumentId Document, string Block)> blocks, CancellationToken cancellationToken)
        {
            foreach (var (documentId, block) in blocks)
            {
                var document = solution.GetDocument(documentId);
                var root = document is null ? null : await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
                var declaration = root?.DescendantNodes().OfType<ClassDeclarationSyntax>().FirstOrDefault(c => c.Identifier.ValueText == block);
                if (declaration is not null)
                {
                    solution = await Conversion.ModelConverter.ConvertAsync(document!, declaration.Identifier.Span, cancellationToken).ConfigureAwait(false) ?? solution;
                }
            }

            return solution;
        }
    }
}
