using DiffPlex.Renderer;

namespace Mhc.Tool.Reporting;

/// <summary>A unified diff of one file, as <c>git diff</c> would show it, for --dry-run.</summary>
internal static class UnifiedDiff
{
    public static string Render(string path, string oldText, string newText, string root)
    {
        var relative = Path.GetRelativePath(root, path).Replace('\\', '/');
        return new UnidiffRenderer(contextLines: 3).Generate(oldText, newText, "a/" + relative, "b/" + relative);
    }
}
