using System.Text;
using Mhc.Tool.Conversion;

namespace Mhc.Tool.Tests;

/// <summary>The exact project-file text a conversion writes: the Mhc references, with and without central package management.</summary>
public class ProjectFileEditorTests
{
    private const string Plain = """
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
          </ItemGroup>
        </Project>

        """;

    private static string Version => ProjectFileEditor.PackageVersion;

    /// <summary><see cref="Plain"/> with the references a conversion adds.</summary>
    private static string WithReferences => $"""
        <Project Sdk="Microsoft.NET.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
          </ItemGroup>
          <ItemGroup>
            <PackageReference Include="Mhc.Runtime" Version="{Version}" />
            <PackageReference Include="Mhc.Analyzers" Version="{Version}" PrivateAssets="all" />
          </ItemGroup>
        </Project>

        """.ReplaceLineEndings("\n");

    [Fact]
    public void ReferencesAreAddedWithTheToolsVersion()
    {
        using var folder = new TempFolder();
        var project = folder.Write("App.csproj", Plain);

        var edit = ProjectFileEditor.Edit(project, streams: null, iterations: null);

        Assert.Equal(WithReferences, edit.Change?.NewText);
        Assert.Equal(["Mhc.Runtime", "Mhc.Analyzers"], edit.AddedPackages);
        Assert.Equal([$"App.csproj: added PackageReference Mhc.Runtime and Mhc.Analyzers {Version}"], edit.Notes);
    }

    [Fact]
    public void UnderCentralPackageManagementTheReferencesHaveNoVersion()
    {
        using var folder = new TempFolder();
        folder.Write("Directory.Packages.props", """
            <Project>
              <PropertyGroup>
                <ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>
              </PropertyGroup>
            </Project>
            """);
        var project = folder.Write("src/App/App.csproj", Plain.Replace(" Version=\"0.107.0\"", ""));

        var edit = ProjectFileEditor.Edit(project, streams: null, iterations: null);

        Assert.Equal("""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TorchSharp-cpu" />
              </ItemGroup>
              <ItemGroup>
                <PackageReference Include="Mhc.Runtime" />
                <PackageReference Include="Mhc.Analyzers" PrivateAssets="all" />
              </ItemGroup>
            </Project>

            """.ReplaceLineEndings("\n"), edit.Change?.NewText);
        Assert.Equal([$"App.csproj: added PackageReference Mhc.Runtime and Mhc.Analyzers (central package management: add PackageVersion entries for them, version {Version})"], edit.Notes);
    }

    [Fact]
    public void ACrlfFileWithAByteOrderMarkKeepsBoth()
    {
        using var folder = new TempFolder();
        var project = Path.Combine(folder.Path, "App.csproj");
        File.WriteAllText(project, Plain.ReplaceLineEndings("\r\n"), new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var change = ProjectFileEditor.Edit(project, streams: 2, iterations: null).Change!;
        new ChangeSet([change]).Commit();

        var expected = WithReferences
            .Replace("</TargetFramework>\n", "</TargetFramework>\n    <MhcStreams>2</MhcStreams>\n")
            .ReplaceLineEndings("\r\n");
        Assert.Equal([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(expected)], File.ReadAllBytes(project));
    }

    [Fact]
    public void AProjectThatHasEverythingIsLeftAlone()
    {
        using var folder = new TempFolder();
        var project = folder.Write("App.csproj", Plain.Replace("</ItemGroup>", $"""
                <PackageReference Include="Mhc.Runtime" Version="{Version}" />
                <ProjectReference Include="../Mhc.Analyzers/Mhc.Analyzers.csproj" />
              </ItemGroup>
            """));

        var edit = ProjectFileEditor.Edit(project, streams: null, iterations: null);

        Assert.Null(edit.Change);
        Assert.Empty(edit.AddedPackages);
        Assert.Empty(edit.Notes);
    }
}
