using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Mhc.Build.Tasks;

/// <summary>
/// Marks the versions that TorchSharp's <c>libLibTorchSharp.so</c> declares but never uses as weak
/// in the build output's copy, when the system libstdc++ lacks them (Debian 12 stops at
/// GLIBCXX_3.4.30; TorchSharp 0.107 asks for 3.4.32). Does nothing where the system already has them.
/// </summary>
public sealed class PatchTorchSharpNative : Task
{
    /// <summary>The output copies of the native library to make loadable.</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Overrides the libstdc++ whose versions are checked (default: the system's).</summary>
    public string? LibStdCxxPath { get; set; }

    public override bool Execute()
    {
        string? libstdcxx = string.IsNullOrEmpty(LibStdCxxPath)
            ? SystemLibrary.Find("libstdc++.so.6", Environment.GetEnvironmentVariable("LD_LIBRARY_PATH"))
            : LibStdCxxPath;
        if (libstdcxx is null || !System.IO.File.Exists(libstdcxx))
        {
            if (!string.IsNullOrEmpty(LibStdCxxPath))
                Log.LogWarning(null, "MHCB002", null, null, 0, 0, 0, 0,
                    $"MhcLibStdCxxPath '{LibStdCxxPath}' does not exist; TorchSharp's native library was left as it is.");
            else
                Log.LogMessage(MessageImportance.Normal, "Mhc: no libstdc++.so.6 found; TorchSharp's native library left as it is.");
            return true;
        }

        HashSet<string>? available;
        try
        {
            available = SystemLibrary.DefinedVersions(libstdcxx);
        }
        catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            available = null;
        }
        if (available is null)
        {
            Log.LogMessage(MessageImportance.Normal, $"Mhc: cannot read the versions of {libstdcxx}; TorchSharp's native library left as it is.");
            return true;
        }

        foreach (var file in Files.Select(f => f.ItemSpec).Where(System.IO.File.Exists))
        {
            PatchResult result;
            try
            {
                result = VersionNeedPatcher.Apply(file, available);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException or FormatException or OverflowException)
            {
                // Never fail the user's build over this: at worst TorchSharp fails to load, as without Mhc.
                Log.LogWarning(null, "MHCB003", null, file, 0, 0, 0, 0, $"could not inspect TorchSharp's native library: {e.Message}");
                continue;
            }
            switch (result.Status)
            {
                case PatchStatus.Patched:
                    Log.LogMessage(MessageImportance.High,
                        $"Mhc: {file}: marked {string.Join(", ", result.Versions)} weak; {libstdcxx} does not define {(result.Versions.Count == 1 ? "it" : "them")} and the library never calls into {(result.Versions.Count == 1 ? "it" : "them")}.");
                    break;
                case PatchStatus.Unfixable:
                    Log.LogWarning(null, "MHCB001", null, file, 0, 0, 0, 0,
                        $"TorchSharp's native library needs {string.Join(", ", result.Versions)} from libstdc++, which {libstdcxx} lacks, " +
                        $"and calls {string.Join(", ", result.BlockingSymbols.Take(3))}; it will not load. Install a newer libstdc++ (GCC 13 or later).");
                    break;
            }
        }
        return !Log.HasLoggedErrors;
    }
}
