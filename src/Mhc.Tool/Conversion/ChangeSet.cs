using System.Text;

namespace Mhc.Tool.Conversion;

/// <summary>One file's old and new text.</summary>
internal sealed record FileChange(string Path, string OldText, string NewText, Encoding Encoding);

/// <summary>
/// Every file a conversion changes, written all-or-nothing: each new text goes to a temporary file
/// beside its target first, then the temporaries replace the targets; if any step fails, the files
/// already replaced get their old bytes back and the temporaries are removed.
/// </summary>
internal sealed class ChangeSet
{
    public ChangeSet(IReadOnlyList<FileChange> changes)
    {
        var duplicate = changes.GroupBy(c => c.Path, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException($"'{duplicate.Key}' would be written twice in one conversion.");
        Changes = changes;
    }

    public IReadOnlyList<FileChange> Changes { get; }

    public bool IsEmpty => Changes.Count == 0;

    public void Commit()
    {
        var readOnly = Changes.Where(c => IsReadOnly(c.Path)).Select(c => c.Path).ToList();
        if (readOnly.Count > 0)
            throw new ToolException(ExitCodes.WriteFailed,
                $"nothing was changed: {string.Join(", ", readOnly.Select(p => $"'{p}'"))} {(readOnly.Count == 1 ? "is" : "are")} read-only. Make {(readOnly.Count == 1 ? "it" : "them")} writable and run again.");

        var temporaries = new List<(string Temp, FileChange Change)>();
        var originals = new List<(string Path, byte[] Bytes)>();
        try
        {
            foreach (var change in Changes)
            {
                var temp = change.Path + ".mhc-" + Guid.NewGuid().ToString("N")[..8] + ".tmp";
                temporaries.Add((temp, change)); // before writing, so a half-written temporary is removed too
                File.WriteAllText(temp, change.NewText, change.Encoding);
                if (!OperatingSystem.IsWindows() && File.Exists(change.Path))
                    File.SetUnixFileMode(temp, File.GetUnixFileMode(change.Path)); // the rename must not reset permissions
            }
            foreach (var (temp, change) in temporaries)
            {
                originals.Add((change.Path, File.ReadAllBytes(change.Path)));
                File.Move(temp, change.Path, overwrite: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var (path, bytes) in originals)
                TryRestore(path, bytes);
            throw new ToolException(ExitCodes.WriteFailed, $"writing the converted files failed ({e.Message}); every file was left as it was.");
        }
        finally
        {
            foreach (var (temp, _) in temporaries)
                if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static bool IsReadOnly(string path)
    {
        if (!File.Exists(path)) return false;
        if (new FileInfo(path).IsReadOnly) return true;
        if (OperatingSystem.IsWindows()) return false;
        // A file without any write bit was made read-only on purpose; respect that even for root,
        // whom the file system would let write anyway.
        const UnixFileMode anyWrite = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;
        if ((File.GetUnixFileMode(path) & anyWrite) == 0) return true;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    private static void TryRestore(string path, byte[] bytes)
    {
        try { File.WriteAllBytes(path, bytes); }
        catch (IOException) { /* reported with the original failure */ }
        catch (UnauthorizedAccessException) { }
    }
}
