using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;

namespace Mhc.Tool.Tests;

/// <summary>
/// Mhc.Runtime leaves the choice of libtorch to the project that uses it: the package depends on the
/// managed TorchSharp only. A project that takes TorchSharp with libtorch-cpu (the parts a CUDA user swaps
/// for a CUDA libtorch) and Mhc.Runtime restores no second backend, builds, loads TorchSharp's native
/// library (the fix for older libstdc++ comes with the package), and computes what a connection computes.
/// </summary>
public sealed class BackendChoiceTests : IDisposable
{
    private readonly OneOffPackages _packages = new("backend", "Mhc.Runtime");

    public void Dispose() => _packages.Dispose();

    private string ConsumerProject => ConsoleProject.Referencing(("TorchSharp", "0.107.0"), ("libtorch-cpu", "2.10.0"), ("Mhc.Runtime", _packages.Version));

    // At init, on identical streams, a connection computes x + F(x) (MHC-SPEC §5); the backward must run too.
    private const string Program = """
        using System.Globalization;
        using Mhc.Runtime;
        using static TorchSharp.torch;

        manual_seed(5);
        using var connection = new HyperConnection("c", 8, new HyperConnectionOptions { Streams = 4 });
        using var x = randn(3, 8);
        using var streams = HyperStreams.Expand(x, 4).requires_grad_();
        using var y = connection.forward(streams, h => h.tanh());
        using var expected = (x + x.tanh()).unsqueeze(-2).expand(3, 4, 8);
        double error = (y - expected).abs().max().item<float>();
        y.sum().backward();
        double gradient = streams.grad!.abs().sum().item<float>();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {error:R} {gradient:R}"));
        """;

    [Fact]
    public async Task AProjectOnTorchSharpAndLibtorchCpuRunsMhcRuntimeWithoutASecondBackend()
    {
        var repo = SampleProject.RepositoryRoot();
        var feed = Path.Combine(_packages.Root, "feed");
        await ProcessRunner.RunOrFailAsync("dotnet", repo, "pack", Path.Combine(repo, "src/Mhc.Runtime/Mhc.Runtime.csproj"), "-o", feed,
            "--artifacts-path", Path.Combine(_packages.Root, "artifacts"), $"-p:Version={_packages.Version}");

        var package = Path.Combine(feed, $"Mhc.Runtime.{_packages.Version}.nupkg");
        // The managed TorchSharp, the (managed) kernel compiler and the PyTorch file reader (which depends on no
        // TorchSharp package itself); no libtorch, no TorchSharp-cpu.
        Assert.Equal(["ILGPU", "ILGPU.Algorithms", "TorchSharp", "TorchSharp.PyBridge"], PackageDependencies(package));

        var app = Path.Combine(_packages.Root, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), ConsumerProject);
        File.WriteAllText(Path.Combine(app, "Program.cs"), Program);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <configuration>
              <packageSources>
                <add key="feed" value="{feed}" />
              </packageSources>
            </configuration>
            """);

        await ProcessRunner.RunOrFailAsync("dotnet", app, "build");
        Assert.DoesNotContain(RestoredPackages(app), id => id.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase));
        var output = await ProcessRunner.RunOrFailAsync("dotnet", app, "run", "--no-build");

        var result = output.Split('\n').Single(l => l.StartsWith("RESULT ", StringComparison.Ordinal))["RESULT ".Length..].Trim().Split(' ')
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(result[0] <= 1e-6, $"x + F(x) at init: error {result[0]}");
        Assert.True(double.IsFinite(result[1]) && result[1] > 0, $"gradient sum {result[1]}");
    }

    /// <summary>The ids of the package's dependencies, from its nuspec.</summary>
    private static string[] PackageDependencies(string package)
    {
        using var zip = ZipFile.OpenRead(package);
        var nuspec = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
        using var stream = nuspec.Open();
        return XDocument.Load(stream).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => (string)e.Attribute("id")!).Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The ids of every package restore resolved for the project, transitive ones included.</summary>
    private static string[] RestoredPackages(string project)
    {
        using var assets = JsonDocument.Parse(File.ReadAllText(Path.Combine(project, "obj", "project.assets.json")));
        return assets.RootElement.GetProperty("libraries").EnumerateObject().Select(p => p.Name.Split('/')[0]).ToArray();
    }
}
