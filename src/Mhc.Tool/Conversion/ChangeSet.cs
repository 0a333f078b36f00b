using System.Text;

namespace Mhc.Tool.Conversion;

/// <summary>One file's old and new text.</summary>
internal sealed record FileChange(string Path, string OldText, string NewText, Encoding Encoding)
{
    /// <summary>The file does not exist yet (a nuget.config the tool adds); <see cref="OldText"/> is empty.</summary>
    public bool IsNew { get; init; }

    /// <summary>The new content of a binary file (a package copied beside a nuget.config); the texts are then empty.</summary>
    public byte[]? Binary { get; init; }

    public static FileChange NewFile(string path, string text) => new(path, "", text, new UTF8Encoding(false)) { IsNew = true };

    /// <summary>A copy of <paramref name="source"/> to <paramref name="destination"/>, or null when the destination already holds the same bytes.</summary>
    public static FileChange? Copy(string source, string destination)
    {
        var bytes = File.ReadAllBytes(source);
        bool exists = File.Exists(destination);
        if (exists && File.ReadAllBytes(destination).AsSpan().SequenceEqual(bytes)) return null;
        return new FileChange(destination, "", "", new UTF8Encoding(false)) { IsNew = !exists, Binary = bytes };
    }

    public byte[] NewBytes() => Binary ?? [.. Encoding.GetPreamble(), .. Encoding.GetBytes(NewText)];
}

/// <summary>
/// Every file a conversion changes, written all-or-nothing: each new text goes to a temporary file
/// beside its target first, then the temporaries replace the targets; if any step fails, the files
/// already replaced get their old bytes back, files and folders it created are removed, and so are the
/// temporaries.
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
        var originals = new List<(string Path, byte[]? Bytes)>(); // null: the file is new
        var createdFolders = new List<string>();
        try
        {
            foreach (var change in Changes)
            {
                CreateFolder(Path.GetDirectoryName(change.Path)!, createdFolders);
                var temp = change.Path + ".mhc-" + Guid.NewGuid().ToString("N")[..8] + ".tmp";
                temporaries.Add((temp, change)); // before writing, so a half-written temporary is removed too
                File.WriteAllBytes(temp, change.NewBytes());
                if (!OperatingSystem.IsWindows() && File.Exists(change.Path))
                    File.SetUnixFileMode(temp, File.GetUnixFileMode(change.Path)); // the rename must not reset permissions
            }
            foreach (var (temp, change) in temporaries)
            {
                // A file that was not there when the change set was made is someone else's: never replace it.
                var old = change.IsNew ? null : File.ReadAllBytes(change.Path);
                File.Move(temp, change.Path, overwrite: !change.IsNew);
                originals.Add((change.Path, old)); // once replaced: a failed move left the file as it was
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            foreach (var (path, bytes) in originals)
                TryRestore(path, bytes);
            foreach (var (temp, _) in temporaries)
                TryDelete(temp);
            foreach (var folder in Enumerable.Reverse(createdFolders))
                TryDeleteFolder(folder);
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

    /// <summary>Creates <paramref name="folder"/> and the missing folders above it, noting each, outermost first.</summary>
    private static void CreateFolder(string folder, List<string> created)
    {
        if (Directory.Exists(folder)) return;
        CreateFolder(Path.GetDirectoryName(folder)!, created);
        Directory.CreateDirectory(folder);
        created.Add(folder);
    }

    // The undo steps below are best effort: their failure is reported with the original one.
    private static void TryRestore(string path, byte[]? bytes)
    {
        try
        {
            if (bytes is null) File.Delete(path);
            else File.WriteAllBytes(path, bytes);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void TryDeleteFolder(string folder)
    {
        try { Directory.Delete(folder); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
