using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// Metadata references for in-memory compilations, taken from the running test host so that no
/// reference package has to be downloaded: the shared framework plus TorchSharp's managed assembly.
/// </summary>
public static class References
{
    public static ImmutableArray<MetadataReference> Framework { get; } = LoadFramework();

    public static MetadataReference TorchSharp { get; } = MetadataReference.CreateFromFile(typeof(TorchSharp.torch).Assembly.Location);

    /// <summary>An empty reference set: the tests add <see cref="Framework"/> themselves.</summary>
    public static ReferenceAssemblies None { get; } = new("net10.0-host");

    private static ImmutableArray<MetadataReference> LoadFramework()
    {
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var paths = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        return paths
            .Where(p => Path.GetDirectoryName(p) == runtimeDirectory && !Path.GetFileName(p).StartsWith("Microsoft.VisualBasic", StringComparison.Ordinal))
            .Where(IsManaged)
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))
            .ToImmutableArray();
    }

    private static bool IsManaged(string path)
    {
        try
        {
            System.Reflection.AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}
