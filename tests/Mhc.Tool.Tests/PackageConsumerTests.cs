using System.Globalization;

namespace Mhc.Tool.Tests;

/// <summary>
/// The packages as a user gets them: Mhc.Runtime, Mhc.Analyzers and the tool are packed into a local
/// feed, a fresh console project references the first two by PackageReference only, and then the
/// analyzer reports the residual sites in the build output, the installed tool converts the project,
/// and the converted program builds, runs and prints what the original printed.
/// </summary>
public sealed class PackageConsumerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mhc-packages-").FullName;
    private readonly string _version = "0.1.0-pkgtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        // Restore copied this run's one-off version of each package into the global packages folder; take it out again.
        var (code, listing) = ProcessRunner.RunAsync("dotnet", Path.GetTempPath(), "nuget", "locals", "global-packages", "--list").GetAwaiter().GetResult();
        var folder = code == 0 ? listing.Split(':', 2).ElementAtOrDefault(1)?.Trim() : null;
        if (string.IsNullOrEmpty(folder)) return;
        foreach (var package in new[] { "mhc.runtime", "mhc.analyzers", "mhc.tool" })
        {
            var cached = Path.Combine(folder, package, _version.ToLowerInvariant());
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }

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
    public async Task PackedRuntimeAnalyzersAndToolConvertAFreshProjectThatStillComputesTheSameOutput()
    {
        var repo = SampleProject.RepositoryRoot();
        var version = _version;
        var feed = Path.Combine(_root, "feed");
        foreach (var project in new[] { "src/Mhc.Runtime/Mhc.Runtime.csproj", "src/Mhc.Analyzers.CodeFixes/Mhc.Analyzers.CodeFixes.csproj", "src/Mhc.Tool/Mhc.Tool.csproj" })
            await ProcessRunner.RunOrFailAsync("dotnet", repo, "pack", Path.Combine(repo, project), "-o", feed,
                "--artifacts-path", Path.Combine(_root, "artifacts"), $"-p:Version={version}");

        var app = Path.Combine(_root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <NoWarn>NU1603</NoWarn>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
                <PackageReference Include="Mhc.Runtime" Version="{version}" />
                <PackageReference Include="Mhc.Analyzers" Version="{version}" PrivateAssets="all" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="mhc-test-feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        // MHC0001 is informational; raise it so that the command-line build prints it.
        File.WriteAllText(Path.Combine(app, ".editorconfig"), "root = true\n[*.cs]\ndotnet_diagnostic.MHC0001.severity = warning\n");
        File.WriteAllText(Path.Combine(app, "Model.cs"), SampleProject.ResidualGpt);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);

        var build = await ProcessRunner.RunOrFailAsync("dotnet", app, "build");
        Assert.Contains("warning MHC0001", build);
        var original = Output(await ProcessRunner.RunOrFailAsync("dotnet", app, "run", "--no-build"));

        var tools = Path.Combine(_root, "tools");
        await ProcessRunner.RunOrFailAsync("dotnet", app, "tool", "install", "Mhc.Tool", "--version", version,
            "--tool-path", tools, "--add-source", feed);
        var convert = await ProcessRunner.RunOrFailAsync(Path.Combine(tools, "dotnet-mhc"), app, "convert", app, "-q");
        Assert.Contains("Converted 2 residual connection(s)", convert);
        Assert.Contains("hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)))", File.ReadAllText(Path.Combine(app, "Model.cs")));

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
