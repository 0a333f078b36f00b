using System.Text;
using DiffPlex.Renderer;
using Mhc.Tool.Conversion;

namespace Mhc.Tool.Reporting;

/// <summary>A unified diff of one file, as <c>git diff</c> would show it, for --dry-run.</summary>
internal static class UnifiedDiff
{
    public static string Render(FileChange change, string root)
    {
        var relative = Path.GetRelativePath(root, change.Path).Replace('\\', '/');
        var oldName = change.IsNew ? "/dev/null" : "a/" + relative;
        if (change.Binary is not null)
            return $"Binary files {oldName} and b/{relative} differ{Environment.NewLine}";
        if (change.IsNew)
            return NewFile(change.NewText, "b/" + relative);
        return new UnidiffRenderer(contextLines: 3).Generate(change.OldText, change.NewText, oldName, "b/" + relative);
    }

    // The diff renderer counts a new file's hunk from line 1 and shows its final line end as an empty
    // line; git shows "-0,0" and no such line.
    private static string NewFile(string text, string name)
    {
        var lines = text.ReplaceLineEndings("\n").Split('\n');
        bool endsWithNewline = lines[^1].Length == 0;
        if (endsWithNewline) lines = lines[..^1];
        var diff = new StringBuilder()
            .AppendLine("--- /dev/null")
            .AppendLine($"+++ {name}")
            .AppendLine($"@@ -0,0 +1,{lines.Length} @@");
        foreach (var line in lines)
            diff.Append('+').AppendLine(line);
        if (!endsWithNewline) diff.AppendLine(@"\ No newline at end of file");
        return diff.ToString();
    }
}
