using Microsoft.Extensions.FileSystemGlobbing;

namespace Mhc.Tool.Conversion;

/// <summary>--include / --exclude globs, matched against paths relative to the input's folder.</summary>
internal sealed class SiteFilter
{
    private readonly Matcher _matcher = new(StringComparison.Ordinal);
    private readonly Matcher? _included, _excluded;
    private readonly string _root;

    public SiteFilter(string root, IReadOnlyCollection<string> include, IReadOnlyCollection<string> exclude)
    {
        _root = root;
        _matcher.AddIncludePatterns(include.Count == 0 ? ["**/*.cs"] : include);
        _matcher.AddExcludePatterns(exclude);
        if (include.Count > 0)
        {
            _included = new Matcher(StringComparison.Ordinal);
            _included.AddIncludePatterns(include);
        }
        if (exclude.Count > 0)
        {
            _excluded = new Matcher(StringComparison.Ordinal);
            _excluded.AddIncludePatterns(exclude);
        }
    }

    /// <summary>Whether the sites of <paramref name="filePath"/> are converted.</summary>
    public bool Includes(string? filePath)
    {
        if (string.IsNullOrEmpty(filePath)) return false;
        return _matcher.Match(_root, [Relative(filePath)]).HasMatches;
    }

    /// <summary>
    /// Whether the user's globs leave <paramref name="filePath"/> out: it matches an --exclude, or --include
    /// was given and it matches none. A file the user did not name either way (one outside the input's
    /// folder, linked into the project) is not left out.
    /// </summary>
    public bool LeavesOut(string filePath)
    {
        var relative = Relative(filePath);
        return _excluded?.Match(_root, [relative]).HasMatches == true
            || _included?.Match(_root, [relative]).HasMatches == false;
    }

    private string Relative(string filePath) => Path.GetRelativePath(_root, filePath);
}
