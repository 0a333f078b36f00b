using Mhc.Tool.Conversion;

namespace Mhc.Tool.PackageSources;

/// <summary>A local folder used as a NuGet source, and whether it holds the Mhc packages of the tool's version.</summary>
internal static class PackageFolder
{
    /// <summary>
    /// The file of package <paramref name="id"/> at <paramref name="version"/> in <paramref name="folder"/>,
    /// in either layout NuGet reads from a folder (flat <c>Id.Version.nupkg</c>, or <c>id/version/id.version.nupkg</c>), or null.
    /// </summary>
    public static string? Find(string folder, string id, string version)
    {
        if (!Directory.Exists(folder)) return null;
        var name = $"{id}.{version}.nupkg";
        foreach (var candidate in new[] { folder, Path.Combine(folder, id.ToLowerInvariant(), version.ToLowerInvariant()) })
            if (Directory.Exists(candidate)
                && Directory.EnumerateFiles(candidate, "*.nupkg").FirstOrDefault(f => string.Equals(Path.GetFileName(f), name, StringComparison.OrdinalIgnoreCase)) is { } file)
                return file;
        return null;
    }

    /// <summary>Whether <paramref name="folder"/> holds every package a converted project references, at the tool's version.</summary>
    public static bool HoldsMhcPackages(string folder) =>
        ProjectFileEditor.Packages.All(id => Find(folder, id, ProjectFileEditor.PackageVersion) is not null);

    /// <summary>The package files as a user would look for them in a folder.</summary>
    public static string MhcPackageFileNames() =>
        string.Join(" and ", ProjectFileEditor.Packages.Select(id => $"{id}.{ProjectFileEditor.PackageVersion}.nupkg"));
}
