namespace Mhc.Tool.Tests;

/// <summary>
/// The global packages folder, where restore copies every package it uses. Package tests pack one-off
/// versions; they take them out of this folder again so that runs do not accumulate there.
/// </summary>
internal static class PackageCache
{
    public static string? GlobalPackagesFolder()
    {
        var (code, listing) = ProcessRunner.RunAsync("dotnet", Path.GetTempPath(), "nuget", "locals", "global-packages", "--list").GetAwaiter().GetResult();
        return code == 0 ? listing.Split(':', 2).ElementAtOrDefault(1)?.Trim() : null;
    }

    /// <summary>Removes the given version of each package from the global packages folder, if restore put it there.</summary>
    public static void Evict(string version, params string[] packageIds)
    {
        var folder = GlobalPackagesFolder();
        if (string.IsNullOrEmpty(folder)) return;
        foreach (var package in packageIds)
        {
            var cached = Path.Combine(folder, package.ToLowerInvariant(), version.ToLowerInvariant());
            if (Directory.Exists(cached)) Directory.Delete(cached, recursive: true);
        }
    }
}
