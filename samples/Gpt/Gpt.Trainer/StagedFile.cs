namespace Gpt.Trainer;

/// <summary>
/// Writes a file beside its final name and renames it into place, so that an interrupted write never
/// leaves a half-written file under that name.
/// </summary>
internal static class StagedFile
{
    /// <summary>
    /// Calls <paramref name="write"/> with the staging path (the final name, then <c>.partial</c> and the
    /// final extension again, for writers that go by the extension), then moves the result to <paramref name="path"/>.
    /// </summary>
    public static void Write(string path, Action<string> write)
    {
        var staging = path + ".partial" + Path.GetExtension(path);
        write(staging);
        File.Move(staging, path, overwrite: true);
    }
}
