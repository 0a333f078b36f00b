using Mhc.Tool.Conversion;

namespace Mhc.Tool.PackageSources;

/// <summary>Where converted projects get the Mhc packages they now reference (--package-source, --no-package-source).</summary>
internal sealed record PackageSourceChoice
{
    private PackageSourceChoice(string? named, bool none) => (Named, None) = (named, none);

    /// <summary>The folder (a full path) or URL the user named, or null.</summary>
    public string? Named { get; }

    /// <summary>The user opted out: no nuget.config is touched.</summary>
    public bool None { get; }

    public static PackageSourceChoice Default { get; } = new(null, false);

    /// <summary>The choice the options make; a named folder must already hold the packages, so that a typo fails before anything is loaded.</summary>
    public static PackageSourceChoice From(string? packageSource, bool noPackageSource)
    {
        if (noPackageSource && packageSource is not null)
            throw new ToolException(ExitCodes.InvalidInput, "--package-source and --no-package-source exclude each other: name a source, or opt out.");
        if (noPackageSource) return new(null, true);
        if (packageSource is null) return Default;
        if (string.IsNullOrWhiteSpace(packageSource))
            throw new ToolException(ExitCodes.InvalidInput, "--package-source needs a folder or a URL.");
        if (NuGetConfigFile.IsUrl(packageSource)) return new(packageSource, false);
        var folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(packageSource));
        if (!Directory.Exists(folder))
            throw new ToolException(ExitCodes.InvalidInput, $"--package-source: the folder '{packageSource}' does not exist.");
        if (!PackageFolder.HoldsMhcPackages(folder))
            throw new ToolException(ExitCodes.InvalidInput,
                $"--package-source: '{packageSource}' does not hold {PackageFolder.MhcPackageFileNames()}, the packages of this tool's version. Pack them there (dotnet pack -o <folder> in a clone of Mhc), or name the folder or feed that has them.");
        return new(folder, false);
    }
}

/// <summary>The nuget.config edits (and copied packages) that let converted projects restore the Mhc packages.</summary>
/// <param name="Configs">The nuget.config of each project that needs the packages, existing or to be created.</param>
/// <param name="Source">The folder or URL those configs were given, or null where none was (opted out, or nothing to give).</param>
internal sealed record PackageSourcePlan(IReadOnlyList<FileChange> Changes, IReadOnlyList<string> Notes, IReadOnlyList<string> Configs, string? Source);

/// <summary>
/// Decides, for the projects that got Mhc package references, which nuget.config must name a source for
/// them, and makes that edit. By default the source is the tool's own bundled packages, copied into a
/// folder beside the nuget.config and named by a path relative to it: a source the project carries along,
/// which keeps working after the tool is updated or removed and on another machine, where an absolute path
/// into this machine's tool folder would fail every restore (NU1301).
/// </summary>
internal static class PackageSourceSetup
{
    /// <summary>The key of the source the tool adds; a later conversion updates the same entry.</summary>
    public const string SourceKey = "mhc-packages";

    public static PackageSourcePlan Plan(IReadOnlyCollection<string> projectPaths, string root, PackageSourceChoice choice, string? bundledFolder)
    {
        var configs = projectPaths
            .Select(p => GoverningConfig(Path.GetDirectoryName(p)!, root))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var changes = new List<FileChange>();
        var notes = new List<string>();
        string? source = choice.Named ?? (choice.None ? null : bundledFolder);
        if (source is null) return new PackageSourcePlan(changes, notes, configs, null);

        foreach (var config in configs)
        {
            var configFolder = Path.GetDirectoryName(config)!;
            string value;
            if (choice.Named is not null)
                value = NuGetConfigFile.IsUrl(source) ? source : ValueFor(source, configFolder);
            else
            {
                // A local folder the file already lists that holds the packages serves as it is.
                if (File.Exists(config) && NuGetConfigFile.LocalSources(config).Any(PackageFolder.HoldsMhcPackages)) continue;
                var copies = CopyBundled(bundledFolder!, Path.Combine(configFolder, BundledPackages.FolderName));
                changes.AddRange(copies);
                if (copies.Count > 0)
                    notes.Add($"{Relative(root, Path.Combine(configFolder, BundledPackages.FolderName))}/: added {string.Join(" and ", copies.Select(c => Path.GetFileName(c.Path)))}, the packages that came with the tool (keep them with the project: its nuget.config names this folder)");
                value = BundledPackages.FolderName;
            }
            if (NuGetConfigFile.AddSource(config, SourceKey, value, ProjectFileEditor.Packages) is { } edit)
            {
                changes.Add(edit);
                notes.Add($"{Relative(root, config)}: {(edit.IsNew ? "created it with" : "added")} package source {SourceKey} = {value}, where restore finds {string.Join(" and ", ProjectFileEditor.Packages)} {ProjectFileEditor.PackageVersion}");
            }
        }
        return new PackageSourcePlan(changes, notes, configs, source);
    }

    /// <summary>The nuget.config NuGet reads first for a project in <paramref name="projectFolder"/>, or where a new one goes: beside the input, when the project is under it.</summary>
    public static string GoverningConfig(string projectFolder, string root) =>
        NuGetConfigFile.FindGoverning(projectFolder)
        ?? Path.Combine(IsUnder(projectFolder, root) ? root : projectFolder, NuGetConfigFile.NewFileName);

    private static List<FileChange> CopyBundled(string bundledFolder, string destination) =>
        ProjectFileEditor.Packages
            .Select(id => PackageFolder.Find(bundledFolder, id, ProjectFileEditor.PackageVersion)!)
            .Select(file => FileChange.Copy(file, Path.Combine(destination, Path.GetFileName(file))))
            .OfType<FileChange>()
            .ToList();

    /// <summary>A folder as a nuget.config names it: relative to the config where it lies below it, so the two move together.</summary>
    private static string ValueFor(string folder, string configFolder) =>
        IsUnder(folder, configFolder) ? Path.GetRelativePath(configFolder, folder).Replace('\\', '/') : folder;

    private static bool IsUnder(string path, string folder)
    {
        var relative = Path.GetRelativePath(folder, path);
        return relative == "." || (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathRooted(relative));
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}
