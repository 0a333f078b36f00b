namespace Mhc.Tool.PackageSources;

/// <summary>
/// The Mhc.Runtime and Mhc.Analyzers packages that the tool package carries beside the tool's assembly
/// (Mhc.Tool.csproj packs them there). NuGet does not record which folder a tool was installed from
/// (neither <c>dotnet tool install</c> nor <c>dotnet tool restore</c> writes a source into the package's
/// .nupkg.metadata), so these copies are how the tool gives a converted project the packages it references.
/// </summary>
internal static class BundledPackages
{
    public const string FolderName = "mhc-packages";

    /// <summary>The folder of the bundled packages, or null where the tool has none of its version (it runs from source).</summary>
    public static string? Find(string? toolDirectory = null)
    {
        var folder = Path.Combine(toolDirectory ?? AppContext.BaseDirectory, FolderName);
        return PackageFolder.HoldsMhcPackages(folder) ? folder : null;
    }
}
