using System.Text;
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

    /// <summary>The edited project file, or null when it already has everything.</summary>
    /// <param name="referenced">Mhc packages the project already uses from elsewhere (<see cref="EffectiveReferences"/>).</param>
    public static FileChange? Edit(string projectPath, int? streams, int? iterations, List<string> notes, IReadOnlySet<string>? referenced = null)
    {
        var bytes = File.ReadAllBytes(projectPath);
        bool bom = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF;
        var oldText = new UTF8Encoding(false).GetString(bytes, bom ? 3 : 0, bytes.Length - (bom ? 3 : 0));
        // XML parsing turns every CRLF into LF, so edits are made with LF and the file's own style is put back at the end.
        bool crlf = oldText.Contains("\r\n");
        const string newline = "\n";
        var document = XDocument.Parse(oldText, LoadOptions.PreserveWhitespace);
        var root = document.Root ?? throw new ToolException(ExitCodes.ProjectLoadFailed, $"'{projectPath}' has no root element.");
        var ns = root.Name.Namespace;
        bool centrallyManaged = UsesCentralPackageManagement(projectPath, root);

        var missing = new[] { RuntimePackage, AnalyzersPackage }.Where(p => !References(root, p) && referenced?.Contains(p) != true).ToList();
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

        var body = document.ToString(SaveOptions.DisableFormatting);
        var newText = document.Declaration is null ? body : document.Declaration + (body.StartsWith('\n') || body.StartsWith('\r') ? "" : newline) + body;
        if (oldText.EndsWith('\n') && !newText.EndsWith('\n')) newText += newline;
        newText = newText.Replace("\r\n", "\n");
        if (crlf) newText = newText.Replace("\n", "\r\n");
        return newText == oldText ? null : new FileChange(projectPath, oldText, newText, new UTF8Encoding(bom));
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
