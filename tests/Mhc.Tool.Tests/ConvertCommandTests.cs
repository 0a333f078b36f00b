using System.Text.Json;
using Mhc.Tool.Conversion;

namespace Mhc.Tool.Tests;

public class ConvertCommandTests
{
    [Fact]
    public async Task DryRunPrintsADiffAndWritesNothing()
    {
        using var project = new SampleProject();
        var before = project.Snapshot();

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--dry-run", "-q");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("--- a/Model.cs", console.Output);
        Assert.Contains("+++ b/Model.cs", console.Output);
        Assert.Contains("""
            -        x = x + attn.forward(ln_1.forward(x));
            -        x = x + mlp.forward(ln_2.forward(x));
            +        x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));
            +        x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));
            """.ReplaceLineEndings("\n"), console.Output.ReplaceLineEndings("\n"));
        Assert.EndsWith("""
            Would convert 2 residual connection(s) in 1 file(s):
              Model.cs: 2 site(s)

            """.ReplaceLineEndings(), console.Output);
        Assert.Equal(before, project.Snapshot());
    }

    /// <summary>
    /// A loop that runs two block classes, in a project that does not reference Mhc.Runtime yet: the blocks are
    /// converted one at a time, and the one converted first (its [HyperConnected] not resolving until the packages
    /// are added) must still read as a block of the loop, or the other is skipped and the result does not build.
    /// </summary>
    [Fact]
    public async Task BothBlockClassesOfOneLoopConvertInAProjectWithoutTheRuntime()
    {
        var corpus = Path.Combine(SampleProject.RepositoryRoot(), "tests", "Mhc.Analyzers.Tests", "Ports");
        using var project = new SampleProject(File.ReadAllText(Path.Combine(corpus, "Models", "InterleavedLayers.cs")), referenceMhc: false);

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--dry-run", "-q");

        Assert.True(code == ExitCodes.Success, console.ErrorOutput + console.Output);
        Assert.Contains("+public sealed partial class GatedCrossAttention", console.Output);
        Assert.Contains("+public sealed partial class LanguageLayer", console.Output);
        Assert.DoesNotContain("Skipped", console.Output);
        Assert.Contains("Would convert 2 residual connection(s) in 1 file(s):", console.Output);
    }

    [Fact]
    public async Task ConvertWritesOnceAndASecondRunChangesNothing()
    {
        using var project = new SampleProject();
        var report = Path.Combine(project.Directory, "out", "report.json");

        var (verify, _) = await TestConsole.RunAsync("convert", project.ProjectPath, "--verify-no-changes", "-q");
        Assert.Equal(ExitCodes.ChangesOrErrorsFound, verify);

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--report", report, "-q");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(ConvertedModelSummary, console.Output);
        // The whole converted model, comments included: the block's two sites, its attribute and
        // initialisation, and the model's Expand / Run / Reduce around the stack.
        Assert.Equal(SampleProject.ConvertedGpt.ReplaceLineEndings("\n"), File.ReadAllText(project.SourcePath).ReplaceLineEndings("\n"));

        using (var json = JsonDocument.Parse(File.ReadAllText(report)))
        {
            var file = Assert.Single(json.RootElement.GetProperty("files").EnumerateArray());
            Assert.Equal("Model.cs", file.GetProperty("path").GetString());
            Assert.Equal(2, file.GetProperty("sitesConverted").GetInt32());
            Assert.False(json.RootElement.GetProperty("dryRun").GetBoolean());
            Assert.True(json.RootElement.GetProperty("changed").GetBoolean());
        }

        var after = Files(project);
        var (again, againConsole) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.True(again == ExitCodes.Success, $"exit code {again}: {againConsole.ErrorOutput}");
        Assert.Equal("No convertible residual connection found: nothing to convert." + Environment.NewLine, againConsole.Output);
        Assert.Equal(after, Files(project));
    }

    /// <summary>Every file of the project (not build output) with its bytes and last write time: what a run that changes nothing leaves as it was.</summary>
    private static Dictionary<string, (string Bytes, DateTime Written)> Files(SampleProject project) =>
        project.Snapshot().ToDictionary(kv => kv.Key, kv => (Convert.ToBase64String(kv.Value), File.GetLastWriteTimeUtc(kv.Key)));

    [Fact]
    public async Task ABlockWhoseModelIsExcludedIsLeftAsItIs()
    {
        // Block in Model.cs, the model that stacks it in Gpt.cs: converting the block edits both files.
        var (block, model) = SampleProject.SplitAtModel(SampleProject.ResidualGpt);
        using var project = new SampleProject(block);
        File.WriteAllText(Path.Combine(project.Directory, "Gpt.cs"), model);
        var before = project.Snapshot();

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--exclude", "Gpt.cs", "-q");

        Assert.Equal(ExitCodes.Success, code);
        const string reason = "converting this block also edits Gpt.cs, the model that stacks it, which --include/--exclude leave out; include that file too";
        Assert.Equal($"""
            No convertible residual connection found: nothing to convert.
            Skipped 2 site(s):
              Model.cs(25,13): MHC0001: {reason}
              Model.cs(26,13): MHC0001: {reason}

            """.ReplaceLineEndings(), console.Output);
        Assert.Equal(before, project.Snapshot());

        var (included, includedConsole) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.Success, included);
        Assert.Equal(ConvertedModelSummary, includedConsole.Output);
        var (convertedBlock, convertedModel) = SampleProject.SplitAtModel(SampleProject.ConvertedGpt);
        Assert.Equal(convertedBlock, File.ReadAllText(project.SourcePath));
        Assert.Equal(convertedModel, File.ReadAllText(Path.Combine(project.Directory, "Gpt.cs")));
    }

    /// <summary>The summary of converting <see cref="SampleProject.ResidualGpt"/>'s block, whose two sites are in Model.cs.</summary>
    private static readonly string ConvertedModelSummary = """
        Converted 2 residual connection(s) in 1 file(s):
          Model.cs: 2 site(s)

        """.ReplaceLineEndings();

    [Fact]
    public async Task AModelLinkedFromOutsideTheProjectFolderIsConvertedWithItsBlock()
    {
        var (block, model) = SampleProject.SplitAtModel(SampleProject.ResidualGpt);
        var shared = Directory.CreateTempSubdirectory("mhc-shared-").FullName;
        try
        {
            var gpt = Path.Combine(shared, "Gpt.cs");
            File.WriteAllText(gpt, model);
            using var project = new SampleProject(block, $"  <ItemGroup><Compile Include=\"{gpt}\" /></ItemGroup>");

            var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");

            Assert.True(code == ExitCodes.Success, console.ErrorOutput);
            Assert.Equal(ConvertedModelSummary, console.Output);
            var (convertedBlock, convertedModel) = SampleProject.SplitAtModel(SampleProject.ConvertedGpt);
            Assert.Equal(convertedBlock, File.ReadAllText(project.SourcePath));
            Assert.Equal(convertedModel, File.ReadAllText(gpt));
        }
        finally
        {
            Directory.Delete(shared, recursive: true);
        }
    }

    [Theory]
    [InlineData(new string[0], new string[0], "../Shared/Gpt.cs", false)] // no globs: nothing is left out
    [InlineData(new string[0], new[] { "Gpt.cs" }, "Gpt.cs", true)]
    [InlineData(new string[0], new[] { "Gpt.cs" }, "Model.cs", false)]
    [InlineData(new[] { "Model.cs" }, new string[0], "Gpt.cs", true)]
    [InlineData(new[] { "**/*.cs" }, new string[0], "../Shared/Gpt.cs", true)] // --include names what is in
    public void OnlyTheUsersGlobsLeaveAFileOut(string[] include, string[] exclude, string file, bool leftOut)
    {
        var root = Path.Combine(Path.GetTempPath(), "project");
        var filter = new SiteFilter(root, include, exclude);
        Assert.Equal(leftOut, filter.LeavesOut(Path.GetFullPath(Path.Combine(root, file))));
    }

    [Fact]
    public async Task ReferencesFromDirectoryBuildPropsAreNotAddedAgain()
    {
        using var project = new SampleProject(mhcReferencesInDirectoryBuildProps: true);
        var projectFile = File.ReadAllText(project.ProjectPath);
        Assert.DoesNotContain("Mhc.Runtime", projectFile);

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(ConvertedModelSummary, console.Output); // no "added PackageReference" line
        Assert.Equal(projectFile, File.ReadAllText(project.ProjectPath));
    }

    [Fact]
    public async Task StreamsAndIterationsAreWrittenAsProjectProperties()
    {
        using var project = new SampleProject();
        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--streams", "2", "--iterations", "10", "-q");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Equal(ConvertedModelSummary + """
            Sample.csproj: set MhcStreams = 2
            Sample.csproj: set MhcSinkhornIterations = 10

            """.ReplaceLineEndings(), console.Output);
        var xml = File.ReadAllText(project.ProjectPath);
        Assert.Contains("<MhcStreams>2</MhcStreams>", xml);
        Assert.Contains("<MhcSinkhornIterations>10</MhcSinkhornIterations>", xml);
    }

    [Fact]
    public async Task HelpListsEveryOption()
    {
        var (code, console) = await TestConsole.RunAsync("convert", "--help");
        Assert.Equal(ExitCodes.Success, code);
        foreach (var option in new[] { "--streams", "--iterations", "--dry-run", "--verify-no-changes", "--report", "--include", "--exclude", "--no-restore", "--package-source", "--no-package-source" })
            Assert.Contains(option, console.Output);
        Assert.Contains("8  the conversion was written, but the converted project does not restore", console.Output);
        // Every exit code the tool has is explained there.
        foreach (var field in typeof(ExitCodes).GetFields())
            Assert.Contains($"\n  {field.GetValue(null)}  ", console.Output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task ProjectFileEditKeepsItsByteOrderMarkAndLineEndings()
    {
        using var project = new SampleProject();
        var crlf = File.ReadAllText(project.ProjectPath).Replace("\r\n", "\n").Replace("\n", "\r\n");
        File.WriteAllText(project.ProjectPath, crlf, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var (code, _) = await TestConsole.RunAsync("convert", project.ProjectPath, "--streams", "2", "-q");

        Assert.Equal(ExitCodes.Success, code);
        var bytes = File.ReadAllBytes(project.ProjectPath);
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var text = System.Text.Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3);
        Assert.Contains("<MhcStreams>2</MhcStreams>", text);
        Assert.DoesNotContain("\n", text.Replace("\r\n", ""));
    }
}
