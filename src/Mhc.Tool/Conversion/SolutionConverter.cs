using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Mhc.Analyzers;
using Mhc.Tool.Loading;

namespace Mhc.Tool.Conversion;

/// <summary>One residual site the conversion left alone, and why.</summary>
internal sealed record SkippedSite(string File, int Line, int Column, string Id, string Reason);

/// <summary>What converting a solution did, before anything is written.</summary>
internal sealed record ConversionResult(
    Solution Original,
    Solution Converted,
    IReadOnlyDictionary<string, int> SitesConvertedPerFile,
    IReadOnlyList<SkippedSite> Skipped,
    IReadOnlyList<ProjectId> ChangedProjects);

/// <summary>
/// Applies the "convert to hyper-connections" fix until no convertible site is left, re-analysing after
/// each fix (one fix converts a whole block and its owner model, which changes the other sites) and
/// stopping when the count of sites no longer drops, so a fix that cannot make progress never loops.
/// </summary>
internal sealed class SolutionConverter(MhcRules rules, SiteFilter filter, IProgressReporter progress)
{
    public async Task<ConversionResult> ConvertAsync(Solution solution, IReadOnlyList<ProjectId> projects, CancellationToken cancellationToken)
    {
        var initial = await ConvertibleSitesAsync(solution, projects, cancellationToken).ConfigureAwait(false);
        var current = solution;
        var remaining = initial;
        var stuck = new List<(Diagnostic Site, string Reason)>();
        while (true)
        {
            // Sites the fix could not move stay where they are; go on with the others.
            var site = remaining.FirstOrDefault(d => !stuck.Any(s => SameSite(s.Site, d)));
            if (site is null) break;
            var document = current.GetDocument(site.Location.SourceTree)
                ?? throw new InvalidOperationException($"no document holds {site.Location}.");
            progress.Status($"Converting {Path.GetFileName(document.FilePath)} ({initial.Length - remaining.Length}/{initial.Length} sites)");
            var next = await ApplyFixAsync(document, site, cancellationToken).ConfigureAwait(false);
            // A block converts together with the model that stacks it: a model in a file the filters leave
            // out would be edited all the same, so such a block is left as it is.
            var outside = next is null ? null : ChangedFilesOutsideFilter(current, next).FirstOrDefault();
            if (outside is not null)
            {
                stuck.Add((site, $"converting this block also edits {Path.GetFileName(outside)}, the model that stacks it, which --include/--exclude leave out; include that file too"));
                continue;
            }
            var after = next is null ? remaining : await ConvertibleSitesAsync(next, projects, cancellationToken).ConfigureAwait(false);
            if (next is null || after.Length >= remaining.Length)
            {
                stuck.Add((site, "the fix made no progress on this site"));
                continue;
            }
            current = next;
            remaining = after;
        }

        var converted = initial
            .GroupBy(d => d.Location.SourceTree!.FilePath)
            .ToDictionary(g => g.Key, g => g.Count() - remaining.Count(r => r.Location.SourceTree!.FilePath == g.Key));
        var skipped = new List<SkippedSite>();
        foreach (var project in projects.Select(current.GetProject).OfType<Project>())
            foreach (var d in await rules.AnalyzeAsync(project, cancellationToken).ConfigureAwait(false))
                if (d.Id == RuleIdentifiers.ResidualConnectionNotConvertible
                    || (d.Id == RuleIdentifiers.ResidualConnectionFound && filter.Includes(d.Location.SourceTree?.FilePath)))
                    skipped.Add(Skip(d, d.Id == RuleIdentifiers.ResidualConnectionFound
                        ? stuck.FirstOrDefault(s => SameSite(s.Site, d)).Reason ?? "the fix made no progress on this site"
                        : null));

        var changedProjects = current.GetChanges(solution).GetProjectChanges()
            .Where(p => p.GetChangedDocuments().Any() || p.GetAddedDocuments().Any())
            .Select(p => p.ProjectId)
            .ToList();
        return new ConversionResult(solution, current, converted.Where(kv => kv.Value > 0).ToDictionary(), skipped, changedProjects);
    }

    private async Task<ImmutableArray<Diagnostic>> ConvertibleSitesAsync(Solution solution, IReadOnlyList<ProjectId> projects, CancellationToken cancellationToken)
    {
        var sites = ImmutableArray.CreateBuilder<Diagnostic>();
        foreach (var project in projects.Select(solution.GetProject).OfType<Project>())
            sites.AddRange((await rules.AnalyzeAsync(project, cancellationToken).ConfigureAwait(false))
                .Where(d => d.Id == RuleIdentifiers.ResidualConnectionFound && filter.Includes(d.Location.SourceTree?.FilePath)));
        return sites.ToImmutable();
    }

    private async Task<Solution?> ApplyFixAsync(Document document, Diagnostic site, CancellationToken cancellationToken)
    {
        var actions = new List<CodeAction>();
        foreach (var fixer in rules.Fixers.Where(f => f.FixableDiagnosticIds.Contains(site.Id)))
        {
            var context = new CodeFixContext(document, site, (action, _) => actions.Add(action), cancellationToken);
            await fixer.RegisterCodeFixesAsync(context).ConfigureAwait(false);
        }
        foreach (var action in actions)
        {
            var operations = await action.GetOperationsAsync(cancellationToken).ConfigureAwait(false);
            var apply = operations.OfType<ApplyChangesOperation>().FirstOrDefault();
            if (apply is not null) return apply.ChangedSolution;
        }
        return null;
    }

    private IEnumerable<string> ChangedFilesOutsideFilter(Solution before, Solution after) =>
        after.GetChanges(before).GetProjectChanges()
            .SelectMany(p => p.GetChangedDocuments().Select(id => after.GetDocument(id)?.FilePath))
            .OfType<string>()
            .Where(filter.LeavesOut);

    private static bool SameSite(Diagnostic a, Diagnostic b) =>
        a.Location.SourceTree?.FilePath == b.Location.SourceTree?.FilePath && a.Location.SourceSpan == b.Location.SourceSpan;

    private static SkippedSite Skip(Diagnostic d, string? reason)
    {
        var span = d.Location.GetLineSpan();
        return new SkippedSite(span.Path, span.StartLinePosition.Line + 1, span.StartLinePosition.Character + 1, d.Id, reason ?? d.GetMessage());
    }
}
