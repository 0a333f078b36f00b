using Mhc.Build.Tasks;

namespace Mhc.Build.Tasks.Tests;

/// <summary>
/// Exercises the fix on copies of TorchSharp's real native library. The build output already holds a
/// patched copy (the build ran the fix), so each test first restores the original flags on its copy.
/// </summary>
public sealed class VersionNeedPatcherTests : IDisposable
{
    private const string Missing = "GLIBCXX_3.4.32";
    private readonly string _dir = Directory.CreateTempSubdirectory("mhc-patch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string OutputNativeLibrary =>
        Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    /// <summary>A copy of the library as TorchSharp ships it: every version need strong.</summary>
    private string UnpatchedCopy()
    {
        var bytes = File.ReadAllBytes(OutputNativeLibrary);
        var image = ElfImage.TryParse(bytes)!;
        foreach (var need in image.VersionNeeds().Where(n => n.IsWeak))
            image.SetFlags(need, (ushort)(need.Flags & ~ElfImage.VersionFlagWeak));
        var path = Path.Combine(_dir, "libLibTorchSharp.so");
        File.WriteAllBytes(path, image.Bytes);
        return path;
    }

    /// <summary>Every version the library needs from libstdc++, optionally leaving some out.</summary>
    private static HashSet<string> LibStdCxxVersions(string library, params string[] except) =>
        ElfImage.TryParse(File.ReadAllBytes(library))!.VersionNeeds()
            .Where(n => n.File == "libstdc++.so.6" && !except.Contains(n.Name))
            .Select(n => n.Name)
            .ToHashSet();

    private static VersionNeed Need(string library, string name) =>
        ElfImage.TryParse(File.ReadAllBytes(library))!.VersionNeeds().Single(n => n.File == "libstdc++.so.6" && n.Name == name);

    [Fact]
    public void TruncatedLibraryIsRejectedAsMalformedNotCrashedOn()
    {
        var copy = UnpatchedCopy();
        var bytes = File.ReadAllBytes(copy);
        File.WriteAllBytes(copy, bytes[..(bytes.Length / 2)]); // section headers now point past the end
        Assert.Throws<FormatException>(() => VersionNeedPatcher.Apply(copy, new HashSet<string>()));
    }

    [Fact]
    public void PatchMarksOnlyTheMissingVersionWeakAndIsIdempotent()
    {
        var copy = UnpatchedCopy();
        var available = LibStdCxxVersions(copy, except: Missing);
        var original = File.ReadAllBytes(copy);

        var first = VersionNeedPatcher.Apply(copy, available);
        Assert.Equal(PatchStatus.Patched, first.Status);
        Assert.Equal(new[] { Missing }, first.Versions);
        var patched = File.ReadAllBytes(copy);
        Assert.True(Need(copy, Missing).IsWeak);
        // Exactly one byte (the low byte of vna_flags) differs from the shipped library.
        Assert.Equal(original.Length, patched.Length);
        Assert.Equal(1, original.Zip(patched).Count(p => p.First != p.Second));
        Assert.All(LibStdCxxVersions(copy, except: Missing), v => Assert.False(Need(copy, v).IsWeak));

        var second = VersionNeedPatcher.Apply(copy, available);
        Assert.Equal(PatchStatus.AlreadyLoadable, second.Status);
        Assert.Equal(patched, File.ReadAllBytes(copy));
    }

    [Fact]
    public void FileThatDoesNotNeedTheFixIsLeftUntouched()
    {
        var copy = UnpatchedCopy();
        var before = File.ReadAllBytes(copy);
        var stamp = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(copy, stamp);

        var result = VersionNeedPatcher.Apply(copy, LibStdCxxVersions(copy));

        Assert.Equal(PatchStatus.AlreadyLoadable, result.Status);
        Assert.Equal(before, File.ReadAllBytes(copy));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(copy));
    }

    [Fact]
    public void VersionUsedByARelocatedSymbolIsNotMarkedWeak()
    {
        // GLIBCXX_3.4.9 carries symbols TorchSharp really calls: weakening it would defer a crash to run time.
        var copy = UnpatchedCopy();
        var before = File.ReadAllBytes(copy);
        var result = VersionNeedPatcher.Apply(copy, LibStdCxxVersions(copy, except: "GLIBCXX_3.4.9"));

        Assert.Equal(PatchStatus.Unfixable, result.Status);
        Assert.NotEmpty(result.BlockingSymbols);
        Assert.All(result.BlockingSymbols, s => Assert.EndsWith("@GLIBCXX_3.4.9", s));
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void PatchWritesANewFileSoAHardLinkedSourceIsNeverEdited()
    {
        var copy = UnpatchedCopy();
        var cacheStandIn = Path.Combine(_dir, "cache.so");
        File.Copy(copy, cacheStandIn);
        File.Delete(copy);
        Assert.Equal(0, Link(cacheStandIn, copy)); // output file hard-linked to the "cache", as MSBuild may do
        var cacheBytes = File.ReadAllBytes(cacheStandIn);

        var result = VersionNeedPatcher.Apply(copy, LibStdCxxVersions(copy, except: Missing));

        Assert.Equal(PatchStatus.Patched, result.Status);
        Assert.Equal(cacheBytes, File.ReadAllBytes(cacheStandIn));
        Assert.True(Need(copy, Missing).IsWeak);
    }

    [Fact]
    public void NonElfFileIsIgnored()
    {
        var path = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(path, "not a shared library");
        Assert.Equal(PatchStatus.NotElf, VersionNeedPatcher.Apply(path, new HashSet<string>()).Status);
        Assert.Equal("not a shared library", File.ReadAllText(path));
    }

    [Fact]
    public void SystemLibStdCxxDefinesItsVersions()
    {
        var libstdcxx = SystemLibrary.Find("libstdc++.so.6", ldLibraryPath: null);
        Assert.NotNull(libstdcxx);
        var versions = SystemLibrary.DefinedVersions(libstdcxx!)!;
        Assert.Contains("GLIBCXX_3.4", versions);
        Assert.Contains("CXXABI_1.3", versions);
    }

    [Fact]
    public void BuildOutputCopyLoadsOnThisSystem()
    {
        // The build ran the fix on this project's own output; whatever the system's libstdc++, the
        // copy must now need nothing the system lacks, except weakly.
        var available = SystemLibrary.DefinedVersions(SystemLibrary.Find("libstdc++.so.6", Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"))!)!;
        var strongMissing = ElfImage.TryParse(File.ReadAllBytes(OutputNativeLibrary))!.VersionNeeds()
            .Where(n => n.File == "libstdc++.so.6" && !n.IsWeak && !available.Contains(n.Name));
        Assert.Empty(strongMissing);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string newPath);
}
