using System.Collections.Immutable;
using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Mhc.Analyzers.Tests.Ports;

/// <summary>What converting one source did.</summary>
/// <param name="Text">The converted source.</param>
/// <param name="FixesApplied">How many times the fix changed the source.</param>
/// <param name="Remaining">The MHC0001 sites left in <paramref name="Text"/>.</param>
internal sealed record ConversionResult(string Text, int FixesApplied, ImmutableArray<Diagnostic> Remaining);

/// <summary>
/// Converts one model source in memory as <c>dotnet mhc convert</c> converts a project: analyze, apply the
/// MHC0001 code fix to the first site, analyze again, until no site is left or no site makes progress
/// (a fix that leaves as many sites as before is not retried until another one has made progress).
/// </summary>
internal static class PortConversion
{
    public static async Task<ConversionResult> ConvertAsync(string source, string fileName = "Model.cs")
    {
        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(
            ProjectId.CreateNewId(), VersionStamp.Default, "Model", "Model", LanguageNames.CSharp,
            compilationOptions: InMemoryCompilation.Options,
            parseOptions: InMemoryCompilation.ParseOptions,
            metadataReferences: InMemoryCompilation.References));
        var document = workspace.AddDocument(project.Id, fileName, SourceText.From(source));

        var fixer = new ConvertToHyperConnectionsFixer();
        var remaining = await SitesAsync(document);
        var stuck = new List<TextSpan>();
        var fixes = 0;
        while (remaining.FirstOrDefault(d => !stuck.Contains(d.Location.SourceSpan)) is { } site)
        {
            var next = await ApplyFixAsync(fixer, document, site);
            var after = next is null ? remaining : await SitesAsync(next);
            if (next is null || after.Length >= remaining.Length)
            {
                stuck.Add(site.Location.SourceSpan);
                continue;
            }

            document = next;
            remaining = after;
            stuck.Clear();   // spans of the previous text
            fixes++;
        }

        return new ConversionResult((await document.GetTextAsync()).ToString(), fixes, remaining);
    }

    private static async Task<ImmutableArray<Diagnostic>> SitesAsync(Document document)
    {
        var compilation = (await document.Project.GetCompilationAsync())!;
        var diagnostics = await InMemoryCompilation.AnalyzeAsync(compilation, new ResidualConnectionAnalyzer());
        return diagnostics.Where(d => d.Id == RuleIdentifiers.ResidualConnectionFound).OrderBy(d => d.Location.SourceSpan.Start).ToImmutableArray();
    }

    /// <summary>The document after the fix's action, or null when the fix offers none or changes nothing.</summary>
    private static async Task<Document?> ApplyFixAsync(CodeFixProvider fixer, Document document, Diagnostic site)
    {
        var actions = new List<CodeAction>();
        await fixer.RegisterCodeFixesAsync(new CodeFixContext(document, site, (action, _) => actions.Add(action), CancellationToken.None));
        foreach (var action in actions)
        {
            var apply = (await action.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().FirstOrDefault();
            var changed = apply?.ChangedSolution.GetDocument(document.Id);
            if (changed is not null && !(await changed.GetTextAsync()).ContentEquals(await document.GetTextAsync()))
            {
                return changed;
            }
        }

        return null;
    }
}
