using System.Reflection;
using Mhc.Analyzers.Rules;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Tests.Rules;

/// <summary>Every rule links to its own page, every page belongs to a rule, and every rule is release-tracked.</summary>
public class RuleDocumentationTests
{
    private static readonly string RulesDirectory = Path.Combine(AppContext.BaseDirectory, "rules");

    public static TheoryData<string> RuleIds()
    {
        var data = new TheoryData<string>();
        foreach (var descriptor in AllDescriptors())
        {
            data.Add(descriptor.Id);
        }

        return data;
    }

    private static IEnumerable<DiagnosticDescriptor> AllDescriptors()
        => typeof(ResidualConnectionAnalyzer).Assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t))
            .SelectMany(t => ((DiagnosticAnalyzer)Activator.CreateInstance(t)!).SupportedDiagnostics)
            .DistinctBy(d => d.Id);

    [Theory]
    [MemberData(nameof(RuleIds))]
    public void Help_link_points_at_the_rule_page_which_documents_the_rule(string id)
    {
        var descriptor = AllDescriptors().Single(d => d.Id == id);

        Assert.Equal(RuleIdentifiers.GetHelpUri(id), descriptor.HelpLinkUri);
        Assert.EndsWith($"/docs/rules/{id}.md", descriptor.HelpLinkUri, StringComparison.Ordinal);
        var page = Path.Combine(RulesDirectory, id + ".md");
        Assert.True(File.Exists(page), $"Missing rule page docs/rules/{id}.md");
        var firstLine = File.ReadLines(page).First();
        Assert.Equal($"# {id}: {descriptor.Title}", firstLine);
        Assert.Contains(descriptor.DefaultSeverity.ToString(), File.ReadAllText(page), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_rule_page_belongs_to_a_rule()
    {
        var ids = AllDescriptors().Select(d => d.Id).ToHashSet();
        var pages = Directory.GetFiles(RulesDirectory, "MHC*.md").Select(Path.GetFileNameWithoutExtension).ToList();

        Assert.NotEmpty(pages);
        Assert.All(pages, page => Assert.Contains(page!, ids));
    }

    [Fact]
    public void The_MHC0002_page_lists_exactly_the_reasons_the_analyzer_gives()
    {
        // Rows of the reason table: | `key` | title | example | advice |
        var rows = File.ReadLines(Path.Combine(RulesDirectory, "MHC0002.md"))
            .Where(line => line.StartsWith("| `", StringComparison.Ordinal))
            .Select(line => line.Split('|', StringSplitOptions.TrimEntries))
            .ToDictionary(cells => cells[1].Trim('`'), cells => (Title: cells[2], Advice: cells[4]));

        Assert.Equal(Detection.Reasons.All.Select(r => r.Key).Order(), rows.Keys.Order());
        foreach (var reason in Detection.Reasons.All)
        {
            Assert.Equal(reason.Title, rows[reason.Key].Title);
            Assert.Equal(reason.Advice, rows[reason.Key].Advice);
        }
    }

    [Fact]
    public void Rule_ids_are_the_stable_constants()
    {
        var constants = typeof(RuleIdentifiers).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral).Select(f => (string)f.GetRawConstantValue()!).ToList();

        Assert.Equal(constants.Count, constants.Distinct().Count());
        Assert.Equal(constants.Order(), AllDescriptors().Select(d => d.Id).Order());
    }
}
