using Microsoft.Extensions.FileSystemGlobbing;

namespace Mhc.Tool.Conversion;

/// <summary>--include / --exclude globs, matched against paths relative to the input's folder.</summary>
internal sealed class SiteFilter
{
    private readonly Matcher _matcher = new(StringComparison.Ordinal);
    private readonly string _root;

    public SiteFilter(string root, IReadOnlyCollection<string> include, IReadOnlyCollection<string> exclude)
    {
        _root = root;
        _matcher.AddIncludePatterns(include.Count == 0 ? ["**/*.cs"] : include);
        _matcher.AddExcludePatterns(exclude);
    }

    public bool Includes(string? filePath)
    {
        if (string.IsNullOrEmpty(filePath)) return false;
        var relative = Path.GetRelativePath(_root, filePath);
        return _matcher.Match(_root, [relative]).HasMatches;
    }
}
