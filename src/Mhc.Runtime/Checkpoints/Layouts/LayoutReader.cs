using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>Takes a layout's connection tensors out of a state, checking each one's dtype and shape, and remembers what is left.</summary>
public sealed class LayoutReader
{
    private readonly IReadOnlyDictionary<string, Tensor> _state;
    private readonly HashSet<string> _taken = new(StringComparer.Ordinal);
    private readonly string _layout;
    private readonly string? _path;

    internal LayoutReader(IReadOnlyDictionary<string, Tensor> state, string layout, string? path)
    {
        _state = state;
        _layout = layout;
        _path = path;
    }

    /// <summary>The float32 tensor <paramref name="name"/> of shape <paramref name="shape"/>; throws naming it when absent or different.</summary>
    public Tensor Take(string name, params long[] shape)
    {
        string where = _path is null ? "" : $"'{_path}': ";
        if (!_state.TryGetValue(name, out var tensor))
            throw new CheckpointException($"{where}the {_layout} checkpoint lacks tensor '{name}' {StreamShape.Format(shape)}, which this model's connections need; was it written for a model with fewer layers or without mHC?", _path, name);
        if (tensor.dtype != ScalarType.Float32)
            throw new CheckpointException($"{where}tensor '{name}' is {tensor.dtype}; the {_layout} layout keeps connection tensors in float32. Convert it to float32 first.", _path, name);
        if (!tensor.shape.SequenceEqual(shape))
            throw new CheckpointException($"{where}tensor '{name}' has shape {StreamShape.Format(tensor.shape)}; this model needs {StreamShape.Format(shape)} (n streams × C channels as built).", _path, name);
        _taken.Add(name);
        return tensor;
    }

    /// <summary>The names not taken yet, in order.</summary>
    internal IEnumerable<string> Unread => _state.Keys.Where(k => !_taken.Contains(k)).Order(StringComparer.Ordinal).ToList();
}
