using System.Globalization;

namespace Mhc.Tool.Tests;

/// <summary>
/// A scratch folder and a version no real package has, for a test that packs the repository's packages
/// and restores them; disposing deletes the folder and takes that version out of the global packages folder.
/// </summary>
internal sealed class OneOffPackages(string label, params string[] packageIds) : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory($"mhc-{label}-").FullName;

    public string Version { get; } = $"0.1.0-{label}test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Directory.Delete(Root, recursive: true);
        PackageCache.Evict(Version, packageIds);
    }
}
