using Mhc.Tool.Conversion;
using Mhc.Tool.Loading;

namespace Mhc.Tool.PackageSources;

/// <summary>A converted project that does not restore as written: restore's errors, and the commands that fix it where they are known.</summary>
internal sealed record RestoreProblem(string Input, IReadOnlyList<string> Errors, IReadOnlyList<string> Fixes);

/// <summary>
/// After a conversion added Mhc package references, runs <c>dotnet restore</c> on the input as the user's
/// own build would, so that a package source NuGet lacks is found now, with the command that fixes it,
/// rather than by the user's next build.
/// </summary>
internal static class RestoreCheck
{
    public static async Task<RestoreProblem?> RunAsync(InputPath input, PackageSourcePlan plan, string? bundledFolder, CancellationToken cancellationToken)
    {
        var result = await Restorer.RunAsync(input, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? null : new RestoreProblem(Path.GetFileName(input.FullPath), result.Errors, Fixes(result.Errors, plan, bundledFolder));
    }

    internal static List<string> Fixes(IReadOnlyList<string> errors, PackageSourcePlan plan, string? bundledFolder)
    {
        var fixes = new List<string>();
        var version = ProjectFileEditor.PackageVersion;
        // NU1101: no such package in any source; NU1102/NU1103: not at this version (or only as a prerelease).
        bool notFound = errors.Any(e => (e.Contains("NU1101") || e.Contains("NU1102") || e.Contains("NU1103"))
            && ProjectFileEditor.Packages.Any(p => e.Contains(p, StringComparison.OrdinalIgnoreCase)));
        if (notFound && plan.Source is null)
        {
            var source = bundledFolder ?? $"<a folder or feed that holds {PackageFolder.MhcPackageFileNames()}>";
            foreach (var config in plan.Configs)
                fixes.Add(File.Exists(config)
                    ? $"dotnet nuget add source \"{source}\" --name {PackageSourceSetup.SourceKey} --configfile \"{config}\""
                    // Without --configfile the source goes to this user's NuGet.Config, which every project here reads.
                    : $"dotnet nuget add source \"{source}\" --name {PackageSourceSetup.SourceKey}");
        }
        else if (notFound)
            fixes.Add($"the source {plan.Source} was added to {string.Join(", ", plan.Configs)}, yet NuGet did not find the packages there: " +
                      "see which configuration files apply (dotnet nuget config paths) and whether one clears, disables or maps away that source");
        if (errors.Any(e => e.Contains("NU1010")))
            fixes.Add("central package management: add " + string.Join(" and ", ProjectFileEditor.Packages.Select(p => $"<PackageVersion Include=\"{p}\" Version=\"{version}\" />")) +
                      " to Directory.Packages.props");
        return fixes;
    }
}
