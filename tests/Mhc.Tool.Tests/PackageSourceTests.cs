using System.Text;
using Mhc.Tool.Conversion;
using Mhc.Tool.PackageSources;

namespace Mhc.Tool.Tests;

/// <summary>How a converted project's nuget.config comes to name a source for the Mhc packages, and what the tool says when restore still fails.</summary>
public class PackageSourceTests
{
    private static string Version => ProjectFileEditor.PackageVersion;

    private static readonly string[] Packages = ["Mhc.Runtime", "Mhc.Analyzers"];

    /// <summary>A folder holding (stand-ins for) the two packages of the tool's version, as NuGet names them in a flat feed.</summary>
    private static string FeedIn(TempFolder folder, string name)
    {
        foreach (var id in Packages)
            folder.Write($"{name}/{id}.{Version}.nupkg", $"{id} package");
        return Path.Combine(folder.Path, name);
    }

    [Fact]
    public void ASourceIsAddedToAnExistingConfigInItsOwnStyle()
    {
        using var folder = new TempFolder();
        var config = Path.Combine(folder.Path, "NuGet.Config");
        File.WriteAllText(config, """
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
                <!-- the team's feeds -->
                <packageSources>
                    <clear />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                </packageSources>
            </configuration>

            """.ReplaceLineEndings("\r\n"), new UTF8Encoding(true));

        var change = NuGetConfigFile.AddSource(config, "mhc-packages", "mhc-packages", Packages)!;
        new ChangeSet([change]).Commit();

        Assert.False(change.IsNew);
        Assert.Equal([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
                <!-- the team's feeds -->
                <packageSources>
                    <clear />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                    <add key="mhc-packages" value="mhc-packages" />
                </packageSources>
            </configuration>

            """.ReplaceLineEndings("\r\n"))], File.ReadAllBytes(config));
        Assert.Null(NuGetConfigFile.AddSource(config, "mhc-packages", "mhc-packages", Packages)); // a second run adds nothing
    }

    [Fact]
    public void WithPackageSourceMappingTheMhcPackagesAreMappedToTheNewSource()
    {
        using var folder = new TempFolder();
        var config = folder.Write("nuget.config", """
            <configuration>
              <packageSources>
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """);

        var change = NuGetConfigFile.AddSource(config, "mhc-packages", "mhc-packages", Packages)!;

        Assert.Equal("""
            <configuration>
              <packageSources>
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                <add key="mhc-packages" value="mhc-packages" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
                <packageSource key="mhc-packages">
                  <package pattern="Mhc.Runtime" />
                  <package pattern="Mhc.Analyzers" />
                </packageSource>
              </packageSourceMapping>
            </configuration>
            """.ReplaceLineEndings("\n"), change.NewText);
    }

    [Fact]
    public void AConfigWithoutSourcesGetsTheSectionAndAKnownSourceIsNotAddedTwice()
    {
        using var folder = new TempFolder();
        var feed = FeedIn(folder, "feed");
        var config = folder.Write("nuget.config", "<configuration>\n</configuration>\n");

        Assert.Equal("""
            <configuration>
              <packageSources>
                <add key="mhc-packages" value="feed" />
              </packageSources>
            </configuration>

            """.ReplaceLineEndings("\n"), NuGetConfigFile.AddSource(config, "mhc-packages", "feed", Packages)!.NewText);

        // The same folder under another key, written another way, is the same source.
        folder.Write("nuget.config", $"<configuration><packageSources><add key=\"local\" value=\"{feed}/\" /></packageSources></configuration>");
        Assert.Null(NuGetConfigFile.AddSource(config, "mhc-packages", "feed", Packages));
        // The tool's own key pointing elsewhere (an older conversion) is updated in place.
        folder.Write("nuget.config", "<configuration><packageSources><add key=\"mhc-packages\" value=\"old\" /></packageSources></configuration>");
        Assert.Equal("<configuration><packageSources><add key=\"mhc-packages\" value=\"feed\" /></packageSources></configuration>",
            NuGetConfigFile.AddSource(config, "mhc-packages", "feed", Packages)!.NewText);
    }

    [Fact]
    public void TheNearestConfigGovernsAndANewOneGoesBesideTheInput()
    {
        using var folder = new TempFolder();
        var project = Path.Combine(folder.Path, "repo", "src", "App");
        Directory.CreateDirectory(project);
        Assert.Equal(Path.Combine(folder.Path, "repo", "nuget.config"), PackageSourceSetup.GoverningConfig(project, Path.Combine(folder.Path, "repo")));
        Assert.Equal(Path.Combine(project, "nuget.config"), PackageSourceSetup.GoverningConfig(project, Path.Combine(folder.Path, "elsewhere")));

        var outer = folder.Write("repo/NuGet.Config", "<configuration />");
        Assert.Equal(outer, PackageSourceSetup.GoverningConfig(project, project));
        var inner = folder.Write("repo/src/nuget.config", "<configuration />");
        Assert.Equal(inner, PackageSourceSetup.GoverningConfig(project, project));
    }

    [Fact]
    public void ByDefaultTheBundledPackagesAreCopiedBesideANewConfigOnce()
    {
        using var folder = new TempFolder();
        var bundled = FeedIn(folder, "tool/mhc-packages");
        var root = Path.Combine(folder.Path, "app");
        var project = folder.Write("app/App.csproj", "<Project />");

        var plan = PackageSourceSetup.Plan([project], root, PackageSourceChoice.Default, bundled);

        Assert.Equal(bundled, plan.Source);
        Assert.Equal([Path.Combine(root, "nuget.config")], plan.Configs);
        Assert.Equal(
            [.. Packages.Select(id => Path.Combine(root, "mhc-packages", $"{id}.{Version}.nupkg")), Path.Combine(root, "nuget.config")],
            plan.Changes.Select(c => c.Path));
        Assert.All(plan.Changes, c => Assert.True(c.IsNew));
        Assert.Equal([
            $"mhc-packages/: added Mhc.Runtime.{Version}.nupkg and Mhc.Analyzers.{Version}.nupkg, the packages that came with the tool (keep them with the project: its nuget.config names this folder)",
            $"nuget.config: created it with package source mhc-packages = mhc-packages, where restore finds Mhc.Runtime and Mhc.Analyzers {Version}",
        ], plan.Notes);
        Assert.Equal("""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="mhc-packages" value="mhc-packages" />
              </packageSources>
            </configuration>

            """.ReplaceLineEndings("\n"), plan.Changes[^1].NewText);

        new ChangeSet(plan.Changes).Commit();
        Assert.Equal("Mhc.Runtime package", File.ReadAllText(Path.Combine(root, "mhc-packages", $"Mhc.Runtime.{Version}.nupkg")));
        Assert.Empty(PackageSourceSetup.Plan([project], root, PackageSourceChoice.Default, bundled).Changes);
    }

    [Fact]
    public void AConfigThatAlreadyListsAFolderWithThePackagesIsLeftAlone()
    {
        using var folder = new TempFolder();
        FeedIn(folder, "artifacts/packages");
        folder.Write("nuget.config", "<configuration><packageSources><add key=\"local\" value=\"artifacts/packages\" /></packageSources></configuration>");
        var project = folder.Write("App.csproj", "<Project />");

        var plan = PackageSourceSetup.Plan([project], folder.Path, PackageSourceChoice.Default, FeedIn(folder, "bundled"));

        Assert.Empty(plan.Changes);
    }

    [Fact]
    public void ANamedFolderIsAddedRelativeToTheConfigAndAUrlAsItIs()
    {
        using var folder = new TempFolder();
        var feed = FeedIn(folder, "packages/mhc");
        var project = folder.Write("App.csproj", "<Project />");

        var local = PackageSourceSetup.Plan([project], folder.Path, PackageSourceChoice.From(feed, noPackageSource: false), bundledFolder: null);
        var remote = PackageSourceSetup.Plan([project], folder.Path, PackageSourceChoice.From("https://example.invalid/v3/index.json", noPackageSource: false), bundledFolder: null);

        Assert.Equal([Path.Combine(folder.Path, "nuget.config")], local.Changes.Select(c => c.Path));
        Assert.Contains("<add key=\"mhc-packages\" value=\"packages/mhc\" />", local.Changes[0].NewText);
        Assert.Contains("<add key=\"mhc-packages\" value=\"https://example.invalid/v3/index.json\" />", remote.Changes[0].NewText);
    }

    [Fact]
    public void OptingOutOrRunningWithoutBundledPackagesTouchesNoConfig()
    {
        using var folder = new TempFolder();
        var project = folder.Write("App.csproj", "<Project />");
        Assert.Empty(PackageSourceSetup.Plan([project], folder.Path, PackageSourceChoice.From(null, noPackageSource: true), FeedIn(folder, "bundled")).Changes);
        Assert.Empty(PackageSourceSetup.Plan([project], folder.Path, PackageSourceChoice.Default, bundledFolder: null).Changes);
    }

    [Theory]
    [InlineData("missing", false, "does not exist")]
    [InlineData("empty", false, "does not hold Mhc.Runtime.")]
    [InlineData("feed", true, "exclude each other")]
    public void ABadPackageSourceIsInvalidInput(string name, bool noPackageSource, string message)
    {
        using var folder = new TempFolder();
        FeedIn(folder, "feed");
        Directory.CreateDirectory(Path.Combine(folder.Path, "empty"));

        var e = Assert.Throws<ToolException>(() => PackageSourceChoice.From(Path.Combine(folder.Path, name), noPackageSource));

        Assert.Equal(ExitCodes.InvalidInput, e.ExitCode);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void APackageNotFoundGetsTheCommandThatAddsASource()
    {
        var errors = new[] { $"/app/App.csproj : error NU1101: Unable to find package Mhc.Runtime. No packages exist with this id in source(s): nuget.org" };
        using var folder = new TempFolder();
        var existing = folder.Write("nuget.config", "<configuration />");
        var missing = Path.Combine(folder.Path, "other", "nuget.config");
        var plan = new PackageSourcePlan([], [], [existing, missing], Source: null);

        Assert.Equal([
            $"dotnet nuget add source \"/tool/mhc-packages\" --name mhc-packages --configfile \"{existing}\"",
            "dotnet nuget add source \"/tool/mhc-packages\" --name mhc-packages",
        ], RestoreCheck.Fixes(errors, plan, "/tool/mhc-packages"));
        Assert.Equal(
            [$"dotnet nuget add source \"<a folder or feed that holds Mhc.Runtime.{Version}.nupkg and Mhc.Analyzers.{Version}.nupkg>\" --name mhc-packages --configfile \"{existing}\""],
            RestoreCheck.Fixes(errors, plan with { Configs = [existing] }, bundledFolder: null));
        Assert.Empty(RestoreCheck.Fixes(["/app/App.csproj : error NU1101: Unable to find package Other.Package."], plan, null));
    }
}
