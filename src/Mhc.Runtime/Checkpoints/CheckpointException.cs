namespace Mhc.Runtime.Checkpoints;

/// <summary>
/// A checkpoint that cannot be read, written or loaded as asked: says which file and, where one is to blame,
/// which tensor. Whatever threw it left the model and the file system as they were.
/// </summary>
public sealed class CheckpointException : IOException
{
    public CheckpointException(string message, string? path = null, string? tensorName = null, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        TensorName = tensorName;
    }

    /// <summary>The file concerned, when there is one.</summary>
    public string? Path { get; }

    /// <summary>The tensor to blame (as named in the file), when one is.</summary>
    public string? TensorName { get; }
}
