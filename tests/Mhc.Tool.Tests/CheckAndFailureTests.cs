using System.Text;
using Mhc.Tool.Conversion;

namespace Mhc.Tool.Tests;

public class CheckAndFailureTests
{
    [Fact]
    public void TheSdkIsResolvedWhereTheInputIs()
    {
        using var project = new SampleProject();
        // The first argument after the command that names an existing path; options are skipped.
        Assert.Equal(project.Directory, Program.InputDirectory(["convert", "--dry-run", project.ProjectPath, "--streams", "2"]));
        Assert.Equal(project.Directory, Program.InputDirectory(["check", project.Directory]));
        Assert.Equal(Directory.GetCurrentDirectory(), Program.InputDirectory(["convert", Path.Combine(project.Directory, "missing.csproj")]));
        Assert.Equal(Directory.GetCurrentDirectory(), Program.InputDirectory([]));
        // An option's value is not the input, even where it names an existing file elsewhere.
        var elsewhere = Directory.CreateTempSubdirectory("mhc-report-").FullName;
        try
        {
            var report = Path.Combine(elsewhere, "r.json");
            File.WriteAllText(report, "{}");
            Assert.Equal(project.Directory, Program.InputDirectory(["convert", "--report", report, project.ProjectPath]));
            Assert.Equal(project.Directory, Program.InputDirectory(["convert", $"--report={report}", project.ProjectPath]));
        }
        finally
        {
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public void EveryOptionThatTakesAValueIsKnownBeforeParsing()
    {
        var withValues = typeof(Program).Assembly.GetTypes()
            .SelectMany(t => t.GetProperties())
            .Select(p => p.GetCustomAttributes(typeof(McMaster.Extensions.CommandLineUtils.OptionAttribute), true).OfType<McMaster.Extensions.CommandLineUtils.OptionAttribute>().FirstOrDefault())
            .OfType<McMaster.Extensions.CommandLineUtils.OptionAttribute>()
            .Where(o => o.OptionType is McMaster.Extensions.CommandLineUtils.CommandOptionType.SingleValue or McMaster.Extensions.CommandLineUtils.CommandOptionType.MultipleValue)
            .Select(o => o.Template!.Split(' ')[0].Split('|')[^1])
            .ToHashSet();
        Assert.Equal(withValues.Order(), Program.OptionsWithValues.Order());
    }

    [Fact]
    public async Task CheckReportsConvertibleSitesWithoutChangingAnything()
    {
        using var project = new SampleProject();
        var before = project.Snapshot();
        var (code, console) = await TestConsole.RunAsync("check", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Model.cs(", console.Output);
        Assert.Contains("info MHC0001", console.Output);
        Assert.Equal(before, project.Snapshot());
    }

    [Fact]
    public async Task CheckFailsOnAStreamShapeError()
    {
        // A converted model whose streams are collapsed inside the block stack (MHC1001).
        using var project = new SampleProject();
        var (converted, _) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.Success, converted);
        var source = File.ReadAllText(project.SourcePath);
        const string run = "x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));";
        Assert.Contains(run, source);
        File.WriteAllText(project.SourcePath, source.Replace(run,
            "foreach (var block in h) { x = block.forward(x); x = HyperStreams.Expand(HyperStreams.Reduce(x), Block.HyperConnectionStreams); }"));

        var (code, console) = await TestConsole.RunAsync("check", project.ProjectPath, "-q");

        Assert.True(code == ExitCodes.ChangesOrErrorsFound, $"exit code {code}: {console.ErrorOutput}");
        Assert.Contains("error MHC1001", console.Output);
    }

    [Fact]
    public async Task ProjectThatDoesNotRestoreIsRefused()
    {
        using var project = new SampleProject(extraProjectXml: """
              <ItemGroup>
                <PackageReference Include="Mhc.Package.That.Does.Not.Exist" Version="1.0.0" />
              </ItemGroup>
            """);
        var before = project.Snapshot();
        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.ProjectLoadFailed, code);
        Assert.Contains("did not restore", console.ErrorOutput);
        Assert.Equal(before, project.Snapshot());
    }

    [Fact]
    public async Task SolutionWithOneBrokenProjectChangesNothing()
    {
        using var good = new SampleProject();
        var solution = await SolutionWithAnotherProjectAsync(good, "Broken.csproj",
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>",
            "Oops.cs", "public class Oops { int x = ; }");
        var before = good.Snapshot();

        var (code, console) = await TestConsole.RunAsync("convert", solution, "-q");

        Assert.Equal(ExitCodes.ProjectLoadFailed, code);
        Assert.Contains("Broken", console.ErrorOutput);
        Assert.Equal(before, good.Snapshot());
    }

    [Fact]
    public async Task ASolutionWithAProjectInAnotherLanguageConvertsItsCSharpProjects()
    {
        using var good = new SampleProject();
        var solution = await SolutionWithAnotherProjectAsync(good, "Other.fsproj",
            "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>" +
            "<ItemGroup><Compile Include=\"Other.fs\" /></ItemGroup></Project>",
            "Other.fs", "module Other\nlet answer = 42\n");

        var (code, console) = await TestConsole.RunAsync("convert", solution, "-q");

        Assert.True(code == ExitCodes.Success, console.ErrorOutput);
        Assert.Equal("""
            Converted 2 residual connection(s) in 1 file(s):
              Model.cs: 2 site(s)

            """.ReplaceLineEndings(), console.Output);
        Assert.Equal(SampleProject.ConvertedGpt, File.ReadAllText(good.SourcePath).ReplaceLineEndings("\n"));
    }

    /// <summary>A solution of <paramref name="good"/> and a second project in a folder of its own under it; returns the solution's path.</summary>
    private static async Task<string> SolutionWithAnotherProjectAsync(SampleProject good, string projectFile, string projectXml, string sourceFile, string source)
    {
        var name = Path.GetFileNameWithoutExtension(projectFile);
        var directory = Path.Combine(good.Directory, name);
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, projectFile), projectXml);
        File.WriteAllText(Path.Combine(directory, sourceFile), source);
        // The sample project would otherwise compile the other project's sources too.
        File.WriteAllText(good.ProjectPath, File.ReadAllText(good.ProjectPath).Replace("</Project>",
            $"  <ItemGroup><Compile Remove=\"{name}/**\" /></ItemGroup>\n</Project>"));
        await ProcessRunner.RunOrFailAsync("dotnet", good.Directory, "new", "sln", "-n", "Both", "--format", "sln");
        await ProcessRunner.RunOrFailAsync("dotnet", good.Directory, "sln", "Both.sln", "add", good.ProjectPath, Path.Combine(directory, projectFile));
        return Path.Combine(good.Directory, "Both.sln");
    }

    [Fact]
    public void FailedWriteHalfwayRestoresEveryFile()
    {
        var dir = Directory.CreateTempSubdirectory("mhc-changeset-").FullName;
        try
        {
            var first = Path.Combine(dir, "a.cs");
            var second = Path.Combine(dir, "b.cs");
            File.WriteAllText(first, "old a");
            Directory.CreateDirectory(second); // replacing a folder with a file fails after a.cs was replaced
            var changes = new ChangeSet([
                new FileChange(first, "old a", "new a", new UTF8Encoding(false)),
                new FileChange(second, "", "new b", new UTF8Encoding(false)),
            ]);

            var e = Assert.Throws<ToolException>(changes.Commit);

            Assert.Equal(ExitCodes.WriteFailed, e.ExitCode);
            Assert.Equal("old a", File.ReadAllText(first));
            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void FailedWriteRemovesTheFilesAndFoldersItCreated()
    {
        var dir = Directory.CreateTempSubdirectory("mhc-changeset-").FullName;
        try
        {
            var config = Path.Combine(dir, "nuget.config");
            var package = Path.Combine(dir, "mhc-packages", "deeper", "Mhc.Runtime.nupkg");
            var blocked = Path.Combine(dir, "b.cs");
            Directory.CreateDirectory(blocked); // replacing a folder with a file fails after the new files were moved in
            var changes = new ChangeSet([
                FileChange.NewFile(config, "<configuration />"),
                new FileChange(package, "", "", new UTF8Encoding(false)) { IsNew = true, Binary = [1, 2, 3] },
                new FileChange(blocked, "", "new b", new UTF8Encoding(false)),
            ]);

            var e = Assert.Throws<ToolException>(changes.Commit);

            Assert.Equal(ExitCodes.WriteFailed, e.ExitCode);
            Assert.Equal([blocked], Directory.GetFileSystemEntries(dir));
            Assert.Empty(Directory.GetFileSystemEntries(blocked));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ANewFileIsWrittenAsBytesAndNeverOverAFileThatAppeared()
    {
        var dir = Directory.CreateTempSubdirectory("mhc-changeset-").FullName;
        try
        {
            var package = Path.Combine(dir, "mhc-packages", "Mhc.Runtime.nupkg");
            new ChangeSet([new FileChange(package, "", "", new UTF8Encoding(false)) { IsNew = true, Binary = [1, 2, 3] }]).Commit();
            Assert.Equal([1, 2, 3], File.ReadAllBytes(package));

            var config = Path.Combine(dir, "nuget.config");
            var change = FileChange.NewFile(config, "<configuration />");
            File.WriteAllText(config, "someone else's"); // after the change set was made
            Assert.Equal(ExitCodes.WriteFailed, Assert.Throws<ToolException>(new ChangeSet([change]).Commit).ExitCode);
            Assert.Equal("someone else's", File.ReadAllText(config));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
