using System.Runtime.CompilerServices;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// Approved files for generated code, kept beside the tests as ordinary C# files so a review shows
/// exactly what users get. Set MHC_UPDATE_SNAPSHOTS=1 to rewrite them from the current output, then
/// review the diff; without it a missing or different file fails the test.
/// </summary>
internal static class Snapshot
{
    public static string Read(string name, string actual, [CallerFilePath] string caller = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(caller)!, "Snapshots", name);
        if (Environment.GetEnvironmentVariable("MHC_UPDATE_SNAPSHOTS") == "1")
        {
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"No approved snapshot {path}; run with MHC_UPDATE_SNAPSHOTS=1 and review it.");
        return File.ReadAllText(path).ReplaceLineEndings("\n");
    }
}
