using System.Text.RegularExpressions;

namespace Mhc.Tool.Tests;

/// <summary>
/// The analyzer tests' port corpus (tests/Mhc.Analyzers.Tests/Ports: models written the way public TorchSharp ports
/// write them) put in one project and converted by <c>dotnet mhc convert</c>: every file comes out as the approved
/// conversion the analyzer tests check against the original's output, the converted project builds, and a second
/// run changes nothing.
/// </summary>
public sealed partial class PortCorpusTests
{
    private static readonly string Ports = Path.Combine(SampleProject.RepositoryRoot(), "tests", "Mhc.Analyzers.Tests", "Ports");

    [GeneratedRegex(@"//\s*expect:\s*MHC0001\b")]
    private static partial Regex ConvertibleMarker();

    [Fact]
    public async Task TheCorpusConvertsThroughTheCliAsTheCodeFixConvertsItAndBuilds()
    {
        var models = Directory.GetFiles(Path.Combine(Ports, "Models"), "*.cs").Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(models);
        using var project = new SampleProject(
            "// The corpus files follow.\n",
            // The corpus is written for C# 12 without implicit usings, as the analyzer tests compile it.
            "  <PropertyGroup><ImplicitUsings>disable</ImplicitUsings><LangVersion>12</LangVersion></PropertyGroup>");
        foreach (var model in models)
            File.Copy(model, Path.Combine(project.Directory, Path.GetFileName(model)));

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.True(code == ExitCodes.Success, console.ErrorOutput + console.Output);

        var expectedSites = models.ToDictionary(m => Path.GetFileName(m), m => ConvertibleMarker().Matches(File.ReadAllText(m)).Count);
        var total = expectedSites.Values.Sum();
        var files = expectedSites.Count(s => s.Value > 0);
        Assert.Contains($"Converted {total} residual connection(s) in {files} file(s):", console.Output);
        foreach (var (file, sites) in expectedSites.Where(s => s.Value > 0))
            Assert.Contains($"  {file}: {sites} site(s)", console.Output);

        foreach (var model in models)
        {
            var name = Path.GetFileName(model);
            var approved = File.ReadAllText(Path.Combine(Ports, "Snapshots", name)).ReplaceLineEndings("\n");
            var converted = File.ReadAllText(Path.Combine(project.Directory, name)).ReplaceLineEndings("\n");
            Assert.True(approved == converted, $"{name}: dotnet mhc convert wrote something else than the approved conversion (Ports/Snapshots/{name})");
        }

        var build = await ProcessRunner.RunOrFailAsync("dotnet", project.Directory, "build", "--no-restore", "-nologo", "-clp:NoSummary");
        Assert.DoesNotContain(" error ", build);

        var before = project.Snapshot();
        var times = Directory.GetFiles(project.Directory, "*.cs").ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var (again, againConsole) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.Success, again);
        Assert.Contains("No convertible residual connection found: nothing to convert.", againConsole.Output);
        Assert.Equal(before, project.Snapshot());
        foreach (var (file, time) in times)
            Assert.Equal(time, File.GetLastWriteTimeUtc(file));
    }
}
