using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Mhc.Build.Tasks;

/// <summary>What <see cref="VersionNeedPatcher.Apply"/> did to a file.</summary>
internal enum PatchStatus
{
    /// <summary>Every version the file needs from the library is available, or already weak: file untouched.</summary>
    AlreadyLoadable,
    /// <summary>Missing, merely declared versions were marked weak; the file was rewritten.</summary>
    Patched,
    /// <summary>A missing version is used by a relocated symbol: marking it weak would break a call. File untouched.</summary>
    Unfixable,
    /// <summary>Not a little-endian ELF64 file: nothing to do.</summary>
    NotElf,
}

internal sealed record PatchResult(PatchStatus Status, IReadOnlyList<string> Versions, IReadOnlyList<string> BlockingSymbols)
{
    public static PatchResult Of(PatchStatus status) => new(status, Array.Empty<string>(), Array.Empty<string>());
}

/// <summary>
/// Makes a shared library loadable against an older copy of one of its dependencies when the only
/// versions it lacks are declared but never bound (no relocation uses them). GCC 13 emits such a
/// need for <c>GLIBCXX_3.4.32</c> (<c>std::ios_base_library_init</c>) in every object that includes
/// &lt;iostream&gt;; the symbol is never called, so the loader may treat the need as weak.
/// </summary>
internal static class VersionNeedPatcher
{
    public static PatchResult Apply(string path, ISet<string> availableVersions, string dependency = "libstdc++.so.6")
    {
        byte[] bytes = File.ReadAllBytes(path);
        var image = ElfImage.TryParse(bytes);
        if (image is null) return PatchResult.Of(PatchStatus.NotElf);

        var missing = image.VersionNeeds()
            .Where(n => n.File == dependency && !n.IsWeak && !availableVersions.Contains(n.Name))
            .ToList();
        if (missing.Count == 0) return PatchResult.Of(PatchStatus.AlreadyLoadable);

        var blocking = missing.SelectMany(n => image.RelocatedSymbolsOfVersion(n.Index).Select(s => $"{s}@{n.Name}")).ToList();
        if (blocking.Count > 0)
            return new PatchResult(PatchStatus.Unfixable, missing.Select(n => n.Name).ToList(), blocking);

        foreach (var need in missing)
            image.SetFlags(need, (ushort)(need.Flags | ElfImage.VersionFlagWeak));
        WriteReplacing(path, image.Bytes);
        return new PatchResult(PatchStatus.Patched, missing.Select(n => n.Name).ToList(), Array.Empty<string>());
    }

    /// <summary>
    /// Writes a new file and renames it over <paramref name="path"/>. Renaming gives the output its
    /// own inode, so a copy that MSBuild hard-linked to the NuGet cache never edits the cache.
    /// </summary>
    private static void WriteReplacing(string path, byte[] bytes)
    {
        string temp = path + ".mhc-" + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
        try
        {
            File.WriteAllBytes(temp, bytes);
            File.Replace(temp, path, destinationBackupFileName: null); // a rename: atomic, and a new inode
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

/// <summary>Finds the copy of a system library the dynamic loader would pick by default.</summary>
internal static class SystemLibrary
{
    private static readonly string[] SearchDirectories =
    {
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
        "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    };

    public static string? Find(string fileName, string? ldLibraryPath)
    {
        var directories = (ldLibraryPath ?? string.Empty)
            .Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries)
            .Concat(SearchDirectories);
        return directories.Select(d => Path.Combine(d, fileName)).FirstOrDefault(File.Exists);
    }

    /// <summary>The versions a library defines, or null when it is not an ELF64 image this reader understands.</summary>
    public static HashSet<string>? DefinedVersions(string libraryPath) =>
        ElfImage.TryParse(File.ReadAllBytes(libraryPath))?.DefinedVersions();
}
