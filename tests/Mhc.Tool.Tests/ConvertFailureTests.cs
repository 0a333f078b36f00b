namespace Mhc.Tool.Tests;

/// <summary>Conversions that must stop with a clear message and an exit code, leaving every file as it was.</summary>
public class ConvertFailureTests
{
    [Fact]
    public async Task ReadOnlyFileStopsTheConversionAndNothingIsWritten()
    {
        using var project = new SampleProject();
        if (OperatingSystem.IsWindows())
            File.SetAttributes(project.SourcePath, FileAttributes.ReadOnly);
        else
            File.SetUnixFileMode(project.SourcePath, UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var before = project.Snapshot();

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--streams", "2", "-q");

        Assert.Equal(ExitCodes.WriteFailed, code);
        Assert.Contains("read-only", console.ErrorOutput);
        Assert.Contains("Model.cs", console.ErrorOutput);
        Assert.Equal(before, project.Snapshot()); // the project file was not edited either
    }

    [Fact]
    public async Task ProjectThatDoesNotBuildIsRefused()
    {
        using var project = new SampleProject(SampleProject.ResidualGpt.Replace("return ln_f.forward(x);", "return ln_f.forward(y);"));
        var before = project.Snapshot();
        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.ProjectLoadFailed, code);
        Assert.Contains("does not build", console.ErrorOutput);
        Assert.Contains("CS0103", console.ErrorOutput);
        Assert.Equal(before, project.Snapshot());
    }

    [Fact]
    public async Task ProjectWithoutTorchSharpModulesSaysSo()
    {
        using var project = new SampleProject("namespace Sample; public static class Nothing { }");
        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");
        Assert.Equal(ExitCodes.NothingToConvert, code);
        Assert.Contains("no TorchSharp module", console.ErrorOutput);
    }

    [Theory]
    [InlineData("does/not/exist.csproj", "does not exist")]
    [InlineData("README.md", "neither a C# project")]
    public async Task BadPathsAreExplained(string path, string message)
    {
        using var project = new SampleProject();
        var target = Path.Combine(project.Directory, path);
        if (path.EndsWith(".md")) File.WriteAllText(target, "# readme");
        var (code, console) = await TestConsole.RunAsync("convert", target, "-q");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains(message, console.ErrorOutput);
    }

    [Theory]
    [InlineData("--streams", "1")]
    [InlineData("--streams", "many")]
    [InlineData("--no-such-option", "x")]
    public async Task BadOptionsAreInvalidInputNotCrashes(string option, string value)
    {
        using var project = new SampleProject();
        var before = project.Snapshot();
        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, option, value, "-q");
        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.StartsWith("error:", console.ErrorOutput.TrimStart());
        Assert.Equal(before, project.Snapshot());
    }
}
