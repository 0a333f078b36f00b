namespace Mhc.Tool.Tests;

/// <summary>
/// samples/Gpt/Gpt.HyperConnected is what `dotnet mhc convert` makes of samples/Gpt/Gpt.Residual, with
/// only the namespace renamed. This regenerates it and fails when the committed form is stale.
/// </summary>
public class SampleRegenerationTests
{
    [Fact]
    public async Task CommittedHyperConnectedGptIsTheToolsOutput()
    {
        var repo = SampleProject.RepositoryRoot();
        var source = Path.Combine(repo, "samples", "Gpt", "Gpt.Residual");
        var committed = Path.Combine(repo, "samples", "Gpt", "Gpt.HyperConnected");
        // Inside the repository (artifacts/ is ignored) so the copy builds with the same central package versions.
        var work = Path.Combine(repo, "artifacts", "regen-" + Guid.NewGuid().ToString("N")[..8], "Gpt.Residual");
        Directory.CreateDirectory(work);
        try
        {
            foreach (var file in Directory.GetFiles(source).Where(f => f.EndsWith(".cs") || f.EndsWith(".csproj")))
                File.Copy(file, Path.Combine(work, Path.GetFileName(file)));

            // The copy gets Mhc package references that no source here serves (the repository builds them
            // from source), so the check that the converted project restores is left out: only the .cs files count.
            await ProcessRunner.RunOrFailAsync("dotnet", work, "restore");
            var (code, console) = await TestConsole.RunAsync("convert", work, "--no-restore", "-q");
            Assert.True(code == ExitCodes.Success, console.ErrorOutput);

            var sources = Directory.GetFiles(work, "*.cs").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(sources, Directory.GetFiles(committed, "*.cs").Select(Path.GetFileName).Order().ToList());
            foreach (var name in sources)
            {
                var regenerated = File.ReadAllText(Path.Combine(work, name!))
                    .Replace("namespace Gpt.Residual;", "namespace Gpt.HyperConnected;");
                var expected = File.ReadAllText(Path.Combine(committed, name!));
                Assert.True(expected == regenerated,
                    $"samples/Gpt/Gpt.HyperConnected/{name} is stale: regenerate it with `dotnet mhc convert` on a copy of Gpt.Residual (see samples/Gpt/README.md).");
            }
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(work)!, recursive: true);
        }
    }
}
