using System.Xml.Linq;
using Mhc.Tool.Conversion;

namespace Mhc.Tool.PackageSources;

/// <summary>
/// Finds the nuget.config that governs a folder and adds a package source to it, keeping the file's
/// formatting (indentation, line ends, byte order mark, comments).
/// </summary>
internal static class NuGetConfigFile
{
    /// <summary>The file names NuGet reads in each folder, in the order it looks for them.</summary>
    private static readonly string[] FileNames = ["nuget.config", "NuGet.config", "NuGet.Config"];

    public const string NewFileName = "nuget.config";

    /// <summary>
    /// The nearest nuget.config in <paramref name="directory"/> or a folder above it, or null. It is the most
    /// specific of the files NuGet reads for a project there, and where <c>dotnet nuget add source --configfile</c> would write.
    /// </summary>
    public static string? FindGoverning(string directory)
    {
        for (var dir = new DirectoryInfo(directory); dir is not null; dir = dir.Parent)
            foreach (var name in FileNames)
            {
                var path = Path.Combine(dir.FullName, name);
                if (File.Exists(path)) return path;
            }
        return null;
    }

    /// <summary>The local folders among the package sources that <paramref name="configPath"/> lists, as full paths.</summary>
    public static IEnumerable<string> LocalSources(string configPath) =>
        Sources(XmlFileText.Read(configPath).Parse().Root, configPath)
            .Select(s => s.Location)
            .Where(l => !IsUrl(l));

    /// <summary>
    /// The change that makes <paramref name="configPath"/> list <paramref name="value"/> under <paramref name="key"/>
    /// (and map the Mhc packages to it where the file maps packages to sources), creating the file if
    /// needed; null when it already does.
    /// </summary>
    /// <param name="value">A URL, or a folder: relative paths are relative to the config file, as NuGet reads them.</param>
    public static FileChange? AddSource(string configPath, string key, string value, IReadOnlyList<string> packages)
    {
        if (!File.Exists(configPath))
            return FileChange.NewFile(configPath, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <add key="{key}" value="{value}" />
                  </packageSources>
                </configuration>

                """.ReplaceLineEndings("\n"));

        var file = XmlFileText.Read(configPath);
        var document = file.Parse();
        var root = document.Root;
        if (root is null || root.Name.LocalName != "configuration")
            throw new ToolException(ExitCodes.InvalidInput, $"'{configPath}' is not a NuGet configuration (its root element is not <configuration>).");

        var location = Location(value, configPath);
        var sources = Sources(root, configPath).ToList();
        var sameKey = sources.FirstOrDefault(s => string.Equals(s.Key, key, StringComparison.OrdinalIgnoreCase));
        var sameLocation = sources.FirstOrDefault(s => SameLocation(s.Location, location));
        var mappedKey = sameLocation?.Key ?? key;
        if (sameLocation is null)
        {
            if (sameKey is not null) sameKey.Element.SetAttributeValue("value", value);
            else AppendChild(Child(root, "packageSources"), new XElement("add", new XAttribute("key", key), new XAttribute("value", value)));
        }
        // With package source mapping, a package is looked for only in the sources it is mapped to.
        if (root.Element("packageSourceMapping") is { } mapping)
        {
            var source = mapping.Elements("packageSource").FirstOrDefault(s => string.Equals((string?)s.Attribute("key"), mappedKey, StringComparison.OrdinalIgnoreCase));
            if (source is null)
            {
                source = new XElement("packageSource", new XAttribute("key", mappedKey));
                AppendChild(mapping, source);
            }
            foreach (var package in packages)
                if (!source.Elements("package").Any(p => string.Equals((string?)p.Attribute("pattern"), package, StringComparison.OrdinalIgnoreCase)))
                    AppendChild(source, new XElement("package", new XAttribute("pattern", package)));
        }
        return file.ChangeTo(document);
    }

    public static bool IsUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    private sealed record Source(string Key, string Location, XElement Element);

    private static IEnumerable<Source> Sources(XElement? root, string configPath) =>
        root?.Element("packageSources")?.Elements("add")
            .Where(e => e.Attribute("key") is not null && e.Attribute("value") is not null)
            .Select(e => new Source((string)e.Attribute("key")!, Location((string)e.Attribute("value")!, configPath), e))
        ?? [];

    /// <summary>A source's value as NuGet resolves it: URLs as they are, folders relative to the config file.</summary>
    private static string Location(string value, string configPath) =>
        IsUrl(value) ? value : Path.TrimEndingDirectorySeparator(Path.GetFullPath(value, Path.GetDirectoryName(configPath)!));

    private static bool SameLocation(string a, string b) =>
        string.Equals(a.TrimEnd('/'), b.TrimEnd('/'), IsUrl(a) || OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private static XElement Child(XElement parent, string name)
    {
        if (parent.Element(name) is { } existing) return existing;
        var child = new XElement(name);
        AppendChild(parent, child);
        return child;
    }

    /// <summary>Adds <paramref name="child"/> after the last child element, indented like it (or one step deeper than the parent).</summary>
    private static void AppendChild(XElement parent, XElement child)
    {
        var parentIndent = IndentOf(parent);
        var last = parent.Elements().LastOrDefault();
        var indent = last is null ? parentIndent + "  " : IndentOf(last);
        if (last is not null)
            last.AddAfterSelf(XmlFileText.Newline + indent, child);
        else if (parent.LastNode is XText closing && string.IsNullOrWhiteSpace(closing.Value))
            closing.AddBeforeSelf(XmlFileText.Newline + indent, child);
        else
            parent.Add(XmlFileText.Newline + indent, child, XmlFileText.Newline + parentIndent);
    }

    /// <summary>The whitespace that starts the line of <paramref name="element"/>.</summary>
    private static string IndentOf(XElement element)
    {
        if (element.PreviousNode is not XText text) return "";
        var value = text.Value.Replace("\r\n", "\n");
        var line = value[(value.LastIndexOf('\n') + 1)..];
        return string.IsNullOrWhiteSpace(line) ? line : "";
    }
}
