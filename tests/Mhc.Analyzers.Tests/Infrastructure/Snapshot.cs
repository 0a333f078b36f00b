using System.Runtime.CompilerServices;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// Approved files for generated code, kept beside the tests as ordinary C# files so a review shows
/// exactly what users get. Set MHC_UPDATE_SNAPSHOTS=1 to rewrite them from the current output, then
/// review the diff; without it a missing or different file fails the test. Under CI (CI set, as .ci/run
/// and CI services set it) updating is refused: a run that rewrote its approved files would pass whatever
/// the generator produced.
/// </summary>
internal static class Snapshot
{
    public static string Read(string name, string actual, [CallerFilePath] string caller = "")
    {
        var path = Path.Combine(Path.GetDirectoryName(caller)!, "Snapshots", name);
        if (Environment.GetEnvironmentVariable("MHC_UPDATE_SNAPSHOTS") == "1")
        {
            Assert.False(IsCi(Environment.GetEnvironmentVariable("CI")),
                $"MHC_UPDATE_SNAPSHOTS=1 under CI (CI={Environment.GetEnvironmentVariable("CI")}) would approve {name} whatever it holds; update snapshots on a developer machine and commit them.");
            File.WriteAllText(path, actual);
        }

        Assert.True(File.Exists(path), $"No approved snapshot {path}; run with MHC_UPDATE_SNAPSHOTS=1 and review it.");
        return File.ReadAllText(path).ReplaceLineEndings("\n");
    }

    /// <summary>Whether a value of the CI variable marks a CI run: any but empty, "0" or "false", as CI services set it ("true", "1").</summary>
    internal static bool IsCi(string? value) =>
        !string.IsNullOrWhiteSpace(value) && value.Trim() != "0" && !value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase);
}
