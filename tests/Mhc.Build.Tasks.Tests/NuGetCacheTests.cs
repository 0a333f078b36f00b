namespace Mhc.Build.Tasks.Tests;

public class NuGetCacheTests
{
    [Fact]
    public void BuildLeavesTheNuGetCacheCopyUnpatched()
    {
        // The package folder is where restore put TorchSharp; the fix must only ever touch output copies.
        var packages = typeof(NuGetCacheTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .OfType<System.Reflection.AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value;
        Assert.False(string.IsNullOrEmpty(packages), "the build records where restore put the packages");
        var cached = Path.Combine(packages, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(cached), $"TorchSharp is restored, so {cached} exists.");
        var image = ElfImage.TryParse(File.ReadAllBytes(cached))!;
        Assert.DoesNotContain(image.VersionNeeds(), n => n.IsWeak);
    }
}
