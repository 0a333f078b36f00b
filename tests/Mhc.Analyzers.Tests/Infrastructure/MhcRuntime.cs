using Microsoft.CodeAnalysis;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// The real Mhc.Runtime, built beside the tests, that converted code is compiled against and run with:
/// the tests check the code fix and the generator against the API users will get, not a copy of it.
/// </summary>
public static class MhcRuntime
{
    private static readonly Lazy<byte[]> Bytes = new(() =>
        File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Mhc.Runtime.dll")));

    private static readonly Lazy<MetadataReference> MetadataReference = new(() =>
        Microsoft.CodeAnalysis.MetadataReference.CreateFromImage(Bytes.Value));

    public static MetadataReference Reference => MetadataReference.Value;

    /// <summary>The runtime's assembly image, for tests that load and run converted code in their own load context.</summary>
    public static byte[] Image => Bytes.Value;
}
