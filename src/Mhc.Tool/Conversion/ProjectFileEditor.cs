using System.Xml.Linq;

namespace Mhc.Tool.Conversion;

/// <summary>
/// Adds what a converted project needs to its project file: references to Mhc.Runtime and
/// Mhc.Analyzers (unless it already has them, by package or by project, in its own file or from an
/// imported one) and the MhcStreams /
/// MhcSinkhornIterations properties when the user chose them. Edits keep the file's formatting.
/// </summary>
internal static class ProjectFileEditor
{
    /// <summary>The packages a converted project references, in the order they are added.</summary>
    public static IReadOnlyList<string> Packages { get; } = [RuntimePackage, AnalyzersPackage];

    public const string RuntimePackage = "Mhc.Runtime";
    public const string AnalyzersPackage = "Mhc.Analyzers";

    /// <summary>The tool's own package version (prerelease label included, build metadata dropped): the runtime it pairs with.</summary>
    public static string PackageVersion { get; } =
        (typeof(ProjectFileEditor).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion ?? "0.1.0")
        .Split('+')[0];

    /// <summary>
    /// The Mhc packages <paramref name="project"/> already uses however they came in: through its own file,
    /// an imported Directory.Build.props or targets, or a referenced project.
    /// </summary>
    public static IReadOnlySet<string> EffectiveReferences(Microsoft.CodeAnalysis.Project project)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        names.UnionWith(project.MetadataReferences.OfType<Microsoft.CodeAnalysis.PortableExecutableReference>()
            .Select(r => Path.GetFileNameWithoutExtension(r.FilePath ?? "")));
        names.UnionWith(project.ProjectReferences.Select(r => project.Solution.GetProject(r.ProjectId)?.AssemblyName ?? ""));
        names.UnionWith(project.AnalyzerReferences.Select(r => Path.GetFileNameWithoutExtension(r.FullPath ?? "")));
        names.IntersectWith([RuntimePackage, AnalyzersPackage]);
        return names;
    }

    /// <summary>The edit <paramref name="projectPath"/> needs; its change is null when the file already has everything.</summary>
    /// <param name="referenced">Mhc packages the project already uses from elsewhere (<see cref="EffectiveReferences"/>).</param>
    public static ProjectFileEdit Edit(string projectPath, int? streams, int? iterations, IReadOnlySet<string>? referenced = null)
    {
        var notes = new List<string>();
        var file = XmlFileText.Read(projectPath);
        const string newline = XmlFileText.Newline;
        var document = file.Parse();
        var root = document.Root ?? throw new ToolException(ExitCodes.ProjectLoadFailed, $"'{projectPath}' has no root element.");
        var ns = root.Name.Namespace;
        bool centrallyManaged = UsesCentralPackageManagement(projectPath, root);

        var missing = Packages.Where(p => !References(root, p) && referenced?.Contains(p) != true).ToList();
        if (missing.Count > 0)
        {
            var group = new XElement(ns + "ItemGroup");
            foreach (var package in missing)
            {
                var reference = new XElement(ns + "PackageReference", new XAttribute("Include", package));
                if (!centrallyManaged) reference.Add(new XAttribute("Version", PackageVersion));
                if (package == AnalyzersPackage) reference.Add(new XAttribute("PrivateAssets", "all"));
                group.Add(newline + "    ", reference);
            }
            group.Add(newline + "  ");
            root.Add("  ", group, newline);
            notes.Add($"{Path.GetFileName(projectPath)}: added PackageReference {string.Join(" and ", missing)}" +
                      (centrallyManaged ? $" (central package management: add PackageVersion entries for them, version {PackageVersion})" : $" {PackageVersion}"));
        }

        SetProperty(root, ns, "MhcStreams", streams, projectPath, notes, newline);
        SetProperty(root, ns, "MhcSinkhornIterations", iterations, projectPath, notes, newline);

        return new ProjectFileEdit(projectPath, file.ChangeTo(document), missing, notes);
    }

    private static bool References(XElement root, string package) =>
        root.Descendants().Any(e =>
            (e.Name.LocalName == "PackageReference" && string.Equals((string?)e.Attribute("Include"), package, StringComparison.OrdinalIgnoreCase))
            || (e.Name.LocalName == "ProjectReference" && ((string?)e.Attribute("Include") ?? "").Replace('\\', '/').EndsWith("/" + package + ".csproj", StringComparison.OrdinalIgnoreCase)));

    private static void SetProperty(XElement root, XNamespace ns, string name, int? value, string projectPath, List<string> notes, string newline)
    {
        if (value is null) return;
        var existing = root.Elements(ns + "PropertyGroup").Elements(ns + name).FirstOrDefault();
        if (existing is not null)
        {
            if (existing.Value == value.ToString()) return;
            existing.Value = value.ToString()!;
        }
        else
        {
            var group = root.Elements(ns + "PropertyGroup").FirstOrDefault(g => g.Attribute("Condition") is null);
            if (group is null)
            {
                group = new XElement(ns + "PropertyGroup", newline + "  ");
                root.AddFirst(newline + "  ", group);
            }
            group.Add("  ", new XElement(ns + name, value), newline + "  ");
        }
        notes.Add($"{Path.GetFileName(projectPath)}: set {name} = {value}");
    }

    private static bool UsesCentralPackageManagement(string projectPath, XElement root)
    {
        if (root.Descendants().Any(e => e.Name.LocalName == "ManagePackageVersionsCentrally" && e.Value.Trim() == "true")) return true;
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(projectPath)!); dir is not null; dir = dir.Parent)
        {
            var props = Path.Combine(dir.FullName, "Directory.Packages.props");
            if (File.Exists(props))
                return File.ReadAllText(props).Contains("<ManagePackageVersionsCentrally>true</ManagePackageVersionsCentrally>", StringComparison.OrdinalIgnoreCase);
        }
        return false;
    }
}

/// <summary>What <see cref="ProjectFileEditor.Edit"/> does to one project file.</summary>
/// <param name="Change">The new text, or null when the file already has everything.</param>
/// <param name="AddedPackages">The Mhc packages it adds references to: they must be found by restore.</param>
/// <param name="Notes">One line per edit, for the summary.</param>
internal sealed record ProjectFileEdit(string ProjectPath, FileChange? Change, IReadOnlyList<string> AddedPackages, IReadOnlyList<string> Notes);
