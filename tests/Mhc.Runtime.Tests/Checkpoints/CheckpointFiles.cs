namespace Mhc.Runtime.Tests.Checkpoints;

/// <summary>A temporary folder for the files a test writes, and helpers over what lies in it.</summary>
internal sealed class CheckpointFiles : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("mhc-checkpoints-").FullName;

    public string this[string name] => Path.Combine(Dir, name);

    /// <summary>The names of every file in the folder, staging files included.</summary>
    public string[] Listing => Directory.GetFiles(Dir).Select(Path.GetFileName).Order().ToArray()!;

    /// <summary>Writes a copy of <paramref name="source"/> cut to its first <paramref name="keep"/> bytes.</summary>
    public string Truncated(string source, long keep)
    {
        var bytes = File.ReadAllBytes(source);
        var path = this["truncated" + Path.GetExtension(source)];
        File.WriteAllBytes(path, bytes[..(int)keep]);
        return path;
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

/// <summary>Base of the tests that write checkpoint files: each test gets its own folder, removed after it.</summary>
public abstract class CheckpointFileTest : IDisposable
{
    private protected CheckpointFiles Files { get; } = new();

    public void Dispose() => Files.Dispose();
}
