using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Mhc.Analyzers.Tests.Ports;

/// <summary>
/// The analyzer on models written the way public TorchSharp ports write them: every marked site gets
/// exactly its diagnostic (MHC0002 with its reason key), and nothing else in the file is reported.
/// </summary>
public class PortDiagnosticsTests
{
    public static TheoryData<string> Models => PortModel.Corpus;

    /// <summary>The corpus itself: each file has the shape the other tests rely on (that it compiles and runs is Original_models_compile_and_run).</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void Model_file_is_well_formed(string name)
    {
        var model = PortModel.Get(name);
        var root = model.Original.SyntaxTrees.Single().GetRoot();
        var ns = Assert.Single(root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>());
        Assert.Equal($"Ports.{name}", ns.Name.ToString());
        var harness = Assert.Single(ns.Members.OfType<ClassDeclarationSyntax>(), c => c.Identifier.ValueText == "Harness");
        Assert.Contains("static", harness.Modifiers.Select(m => m.ValueText));
        Assert.Equal(["Create", "Run"], harness.Members.OfType<MethodDeclarationSyntax>().Select(m => m.Identifier.ValueText).Order());

        // Markers parse (a malformed one fails in Parse) and stand on lines that hold code.
        Assert.All(PortExpectations.Parse(model.Source), e => Assert.False(Line(model.Source, e.Line).TrimStart().StartsWith("//", StringComparison.Ordinal)));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Analyzer_reports_exactly_the_marked_sites(string name)
    {
        var model = PortModel.Get(name);
        var expected = PortExpectations.Parse(model.Source);
        var reported = await model.SitesAsync();

        var problems = new List<(int Line, string Message)>();
        foreach (var site in expected)
        {
            var onLine = reported.Where(d => PortModel.StartLine(d) == site.Line).ToList();
            if (onLine is not [var diagnostic] || diagnostic.Id != site.Id)
            {
                problems.Add((site.Line, $"expected {site}, got {(onLine.Count == 0 ? "nothing" : string.Join("; ", onLine.Select(PortModel.Describe)))}"));
            }
            else if (site.Reason is not null && diagnostic.Properties.GetValueOrDefault(PortExpectations.ReasonProperty) != site.Reason)
            {
                problems.Add((site.Line, $"expected reason '{site.Reason}', got {PortModel.Describe(diagnostic)}"));
            }
        }

        foreach (var diagnostic in reported.Where(d => !expected.Any(e => e.Line == PortModel.StartLine(d))))
        {
            problems.Add((PortModel.StartLine(diagnostic), $"unexpected {PortModel.Describe(diagnostic)}"));
        }

        // Every problem of the file at once, each with its source line, so a failure reads without opening the file.
        Assert.True(problems.Count == 0, $"{model.FileName}:\n" + string.Join("\n", problems
            .OrderBy(p => p.Line)
            .Select(p => $"  line {p.Line}: {p.Message}\n      | {Line(model.Source, p.Line).Trim()}")));
    }

    private static string Line(string source, int line) => source.Split('\n')[line - 1];
}
