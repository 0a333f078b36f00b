using Mhc.Tool.Conversion;

namespace Mhc.Tool.Tests;

/// <summary>What convert does for a project that gets Mhc package references: the package source it shows, and a restore that still fails.</summary>
public class ConvertPackageSourceTests
{
    [Fact]
    public async Task DryRunShowsTheNuGetConfigThatANamedPackageSourceWouldGet()
    {
        using var project = new SampleProject(referenceMhc: false);
        var feed = Path.Combine(project.Directory, "feed");
        foreach (var id in ProjectFileEditor.Packages)
            File.WriteAllText(Path.Combine(Directory.CreateDirectory(feed).FullName, $"{id}.{ProjectFileEditor.PackageVersion}.nupkg"), "stand-in");
        var before = project.Snapshot();

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--dry-run", "--package-source", feed, "-q");

        Assert.True(code == ExitCodes.Success, console.ErrorOutput);
        Assert.Contains("""
            --- /dev/null
            +++ b/nuget.config
            @@ -0,0 +1,6 @@
            +<?xml version="1.0" encoding="utf-8"?>
            +<configuration>
            +  <packageSources>
            +    <add key="mhc-packages" value="feed" />
            +  </packageSources>
            +</configuration>
            """.ReplaceLineEndings("\n"), console.Output.ReplaceLineEndings("\n"));
        Assert.EndsWith($"""
            Would update Sample.csproj: added PackageReference Mhc.Runtime and Mhc.Analyzers {ProjectFileEditor.PackageVersion}
            Would update nuget.config: created it with package source mhc-packages = feed, where restore finds Mhc.Runtime and Mhc.Analyzers {ProjectFileEditor.PackageVersion}

            """.ReplaceLineEndings(), console.Output);
        Assert.Equal(before, project.Snapshot());
    }

    [Fact]
    public async Task AConvertedProjectThatDoesNotRestoreIsExitCode8WithTheFix()
    {
        // Central package management without versions for the Mhc packages: restore fails whatever the
        // package sources and caches hold (NU1010), so this runs the same on every machine.
        using var project = new SampleProject(referenceMhc: false);
        File.WriteAllText(Path.Combine(project.Directory, "Directory.Packages.props"), """
            <Project>
              <PropertyGroup>
                <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>
              </PropertyGroup>
              <ItemGroup>
                <PackageVersion Include="TorchSharp-cpu" Version="0.107.0" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(project.ProjectPath, File.ReadAllText(project.ProjectPath).Replace(" Version=\"0.107.0\"", ""));

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--no-package-source", "-q");

        Assert.Equal(ExitCodes.WrittenButDoesNotRestore, code);
        Assert.Equal(SampleProject.ConvertedGpt.ReplaceLineEndings("\n"), File.ReadAllText(project.SourcePath).ReplaceLineEndings("\n"));
        Assert.StartsWith("error: the converted files were written, but Sample.csproj does not restore:", console.ErrorOutput);
        Assert.Contains("NU1010", console.ErrorOutput);
        var version = ProjectFileEditor.PackageVersion;
        Assert.EndsWith($"""
            To fix it:
              central package management: add <PackageVersion Include="Mhc.Runtime" Version="{version}" /> and <PackageVersion Include="Mhc.Analyzers" Version="{version}" /> to Directory.Packages.props

            """.ReplaceLineEndings(), console.ErrorOutput);
        Assert.False(File.Exists(Path.Combine(project.Directory, "nuget.config")));
    }
}
