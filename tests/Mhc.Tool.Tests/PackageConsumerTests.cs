using System.Globalization;
using System.IO.Compression;
using System.Text.Json;

namespace Mhc.Tool.Tests;

/// <summary>
/// The packages as a user gets them: the tool is packed into a local feed (the tool package carries
/// Mhc.Runtime and Mhc.Analyzers of its version, and `dotnet pack` puts those two beside it), installed
/// from there, and run on a fresh console project that references nothing but TorchSharp. The converted
/// project must then build with a plain `dotnet build` (nothing written by hand, no source but the ones
/// the tool gave it) and print what the original printed.
/// </summary>
public sealed class PackageConsumerTests : IDisposable
{
    private readonly OneOffPackages _packages = new("pkg", "Mhc.Runtime", "Mhc.Analyzers", "Mhc.Tool");
    private string Root => _packages.Root;
    private string Version => _packages.Version;

    public void Dispose() => _packages.Dispose();

    /// <summary>A console project that references nothing but TorchSharp.</summary>
    private static readonly string ConsumerProject = ConsoleProject.Referencing(("TorchSharp-cpu", "0.107.0"));

    private const string Program = """
        using System.Globalization;
        using Sample;
        using static TorchSharp.torch;

        manual_seed(3);
        using var model = new Gpt(vocab: 11, width: 16, layers: 2);
        using var idx = arange(8, dtype: ScalarType.Int64).unsqueeze(0);
        using var y = model.forward(idx);
        Console.WriteLine("OUTPUT " + string.Join(" ", y.flatten().data<float>().ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        """;

    [Fact]
    public async Task TheInstalledToolConvertsAFreshProjectThatThenBuildsAsItIsAndComputesTheSameOutput()
    {
        var repo = SampleProject.RepositoryRoot();
        var version = Version;
        var feed = Path.Combine(Root, "feed");
        await ProcessRunner.RunOrFailAsync("dotnet", repo, "pack", Path.Combine(repo, "src/Mhc.Tool/Mhc.Tool.csproj"), "-o", feed,
            "--artifacts-path", Path.Combine(Root, "artifacts"), $"-p:Version={version}");
        Assert.Equal(
            new[] { "Mhc.Analyzers", "Mhc.Runtime", "Mhc.Tool" }.Select(id => $"{id}.{version}.nupkg"),
            Directory.GetFiles(feed).Select(Path.GetFileName).Order(StringComparer.Ordinal));

        var app = Path.Combine(Root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), ConsumerProject);
        // MHC0001 is informational; raise it so that a site left unconverted would show in the build output.
        File.WriteAllText(Path.Combine(app, ".editorconfig"), "root = true\n[*.cs]\ndotnet_diagnostic.MHC0001.severity = warning\n");
        File.WriteAllText(Path.Combine(app, "Model.cs"), SampleProject.ResidualGpt);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);

        // TorchSharp alone does not load where the system libstdc++ is older than its native library
        // wants (Debian 12); the fix for that comes with Mhc.Runtime. For the run of the original, the
        // package's own build file is imported from outside the project, which thus references nothing
        // but TorchSharp until the tool converts it.
        var runtimePackage = Path.Combine(Root, "runtime-package");
        ZipFile.ExtractToDirectory(Path.Combine(feed, $"Mhc.Runtime.{version}.nupkg"), runtimePackage);
        await ProcessRunner.RunOrFailAsync("dotnet", app, "build",
            $"-p:CustomAfterMicrosoftCommonTargets={Path.Combine(runtimePackage, "buildTransitive", "Mhc.Runtime.targets")}");
        var original = Output(await ProcessRunner.RunOrFailAsync("dotnet", app, "run", "--no-build"));

        var tools = Path.Combine(Root, "tools");
        await ProcessRunner.RunOrFailAsync("dotnet", app, "tool", "install", "Mhc.Tool", "--version", version,
            "--tool-path", tools, "--add-source", feed);
        var (code, convert) = await ProcessRunner.RunAsync(Path.Combine(tools, "dotnet-mhc"), app, "convert", app, "-q");
        Assert.True(code == ExitCodes.Success, convert);
        Assert.Equal($"""
            Converted 2 residual connection(s) in 1 file(s):
              Model.cs: 2 site(s)
            Consumer.csproj: added PackageReference Mhc.Runtime and Mhc.Analyzers {version}
            mhc-packages/: added Mhc.Runtime.{version}.nupkg and Mhc.Analyzers.{version}.nupkg, the packages that came with the tool (keep them with the project: its nuget.config names this folder)
            nuget.config: created it with package source mhc-packages = mhc-packages, where restore finds Mhc.Runtime and Mhc.Analyzers {version}

            """.ReplaceLineEndings(), convert);
        Assert.Equal(SampleProject.ConvertedGpt.ReplaceLineEndings("\n"), File.ReadAllText(Path.Combine(app, "Model.cs")).ReplaceLineEndings("\n"));
        foreach (var id in new[] { "Mhc.Runtime", "Mhc.Analyzers" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(feed, $"{id}.{version}.nupkg")), File.ReadAllBytes(Path.Combine(app, "mhc-packages", $"{id}.{version}.nupkg")));

        // The one-off version was in no cache, so the restore that convert ran to check the project found
        // the packages in a source, and NuGet noted which: the folder the tool's nuget.config names.
        foreach (var id in new[] { "mhc.runtime", "mhc.analyzers" })
            using (var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(PackageCache.GlobalPackagesFolder()!, id, version.ToLowerInvariant(), ".nupkg.metadata"))))
                Assert.Equal(Path.Combine(app, "mhc-packages"), Path.TrimEndingDirectorySeparator(metadata.RootElement.GetProperty("source").GetString()!));

        var rebuild = await ProcessRunner.RunOrFailAsync("dotnet", app, "build");
        Assert.DoesNotContain("MHC0001", rebuild);
        var converted = Output(await ProcessRunner.RunOrFailAsync("dotnet", app, "run", "--no-build"));


        Assert.Equal(original.Length, converted.Length);
        Assert.True(original.Length >= 8 * 16);
        for (int i = 0; i < original.Length; i++)
            Assert.True(Math.Abs(original[i] - converted[i]) <= 1e-5, $"value {i}: original {original[i]}, converted {converted[i]}");
    }

    private static double[] Output(string text)
    {
        var line = text.Split('\n').Single(l => l.StartsWith("OUTPUT ", StringComparison.Ordinal));
        return line["OUTPUT ".Length..].Trim().Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }
}
