using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>
/// How a public mHC implementation names and shapes its tensors, so that a model converted here can be
/// written in its layout and read back from it. Connections are numbered in execution order
/// (<see cref="HyperConnection.LayerIndex"/>) and taken two per transformer layer: attention first, then
/// the MLP, as both public layouts assume. Our parameters are written as they are, mapped to the layout's
/// names, shapes and row order (docs/checkpoints.md says what they compute there).
/// </summary>
public abstract class CheckpointLayout
{
    protected CheckpointLayout(LayoutNameTable? otherNames) => OtherNames = otherNames ?? LayoutNameTable.Unchanged;

    /// <summary>The layout's name, for messages.</summary>
    public abstract string Name { get; }

    /// <summary>The names of everything that is not a connection (embeddings, norms, attention, MLP).</summary>
    public LayoutNameTable OtherNames { get; }

    /// <summary>Writes one connection's parameters (ours: φ [nC, n²+2n], b [n²+2n], α [3]) under the layout's names.</summary>
    protected abstract void ExportConnection(int layer, bool attention, Tensor phi, Tensor bias, Tensor alpha, IDictionary<string, Tensor> into);

    /// <summary>Reads one connection's parameters back as (φ, b, α) in our shapes.</summary>
    protected abstract (Tensor Phi, Tensor Bias, Tensor Alpha) ImportConnection(int layer, bool attention, int streams, long channels, LayoutReader reader);

    /// <summary>Writes a learned final reduce (ours: φ [nC, n], b [n], α [1]); layouts without one throw.</summary>
    protected abstract void ExportHead(Tensor phi, Tensor bias, Tensor alpha, IDictionary<string, Tensor> into);

    /// <summary>Reads a learned final reduce back as (φ, b, α) in our shapes.</summary>
    protected abstract (Tensor Phi, Tensor Bias, Tensor Alpha) ImportHead(int streams, long channels, LayoutReader reader);

    /// <summary>The model's state under the layout's names (float32 for connection tensors). The caller owns the tensors.</summary>
    public Dictionary<string, Tensor> Export(nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var parts = ModelParts.Of(model, Name);
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using (no_grad())
        {
            for (int k = 0; k < parts.Connections.Count; k++)
            {
                var (path, _) = parts.Connections[k];
                ExportConnection(k / 2, k % 2 == 0,
                    Float32(parts.State[path + ".phi"]), Float32(parts.State[path + ".bias"]), Float32(parts.State[path + ".alpha"]), result);
            }
            if (parts.LearnedHead is { } head)
                ExportHead(Float32(parts.State[head + ".phi"]), Float32(parts.State[head + ".bias"]), Float32(parts.State[head + ".alpha"]), result);
            foreach (var (name, tensor) in parts.State)
            {
                if (parts.IsStreamModuleEntry(name)) continue;
                var (theirs, transform) = OtherNames.ToLayout(name);
                var value = transform is null ? tensor.detach().clone() : transform(tensor.detach()).contiguous();
                if (!result.TryAdd(theirs, value))
                {
                    value.Dispose();
                    foreach (var written in result.Values) written.Dispose();
                    throw new CheckpointException($"Model entry '{name}' maps to '{theirs}', a {Name} name already taken; fix the layout's name table.", tensorName: name);
                }
            }
        }
        return result;
    }

    /// <summary>
    /// Loads a state in this layout into <paramref name="model"/>. Strict: every tensor must find its place with
    /// the layout's shape (float32 for connection tensors), and every model entry must be filled; otherwise it
    /// throws naming the tensor and changes nothing.
    /// </summary>
    public LoadReport Import(nn.Module model, IReadOnlyDictionary<string, Tensor> state, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        var parts = ModelParts.Of(model, Name);
        var reader = new LayoutReader(state, Name, path);
        using var scope = NewDisposeScope();
        var ours = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int k = 0; k < parts.Connections.Count; k++)
        {
            var (modulePath, connection) = parts.Connections[k];
            var (phi, bias, alpha) = ImportConnection(k / 2, k % 2 == 0, connection.Streams, connection.Channels, reader);
            ours[modulePath + ".phi"] = phi;
            ours[modulePath + ".bias"] = bias;
            ours[modulePath + ".alpha"] = alpha;
        }
        if (parts.LearnedHead is { } head)
        {
            var reduce = (StreamReduce)model.named_modules().First(m => m.name == head).module;
            var (phi, bias, alpha) = ImportHead(reduce.Streams, reduce.Channels, reader);
            ours[head + ".phi"] = phi;
            ours[head + ".bias"] = bias;
            ours[head + ".alpha"] = alpha;
        }
        var fileNames = new Dictionary<string, string>(StringComparer.Ordinal); // model name → name in the file
        foreach (var name in reader.Unread)
        {
            var (modelName, transform) = OtherNames.FromLayout(name);
            ours[modelName] = transform is null ? state[name].alias() : transform(state[name]);
            fileNames[modelName] = name;
        }
        try
        {
            return StateDictLoader.Load(model, ours, NameMap.Identity, new LoadOptions(Strict: true));
        }
        catch (CheckpointException e)
        {
            // The loader speaks in model names; the user looks at the file.
            string? culprit = e.TensorName is null ? null : fileNames.GetValueOrDefault(e.TensorName, e.TensorName);
            string inFile = culprit is not null && culprit != e.TensorName ? $" ('{e.TensorName}' is '{culprit}' in the file)" : "";
            throw new CheckpointException($"{(path is null ? "" : $"'{path}': ")}not a {Name} checkpoint of this model{inFile}: {e.Message}", path, culprit, e);
        }
    }

    /// <summary>Writes <paramref name="model"/> in this layout to <paramref name="path"/> (format from the extension: .safetensors, .bin/.pt).</summary>
    public void Save(nn.Module model, string path, StateDictFormat? format = null)
    {
        var state = Export(model);
        try
        {
            StateDictFile.Write(path, state, format ?? StateDictFormats.FromExtension(path) ?? StateDictFormat.Safetensors);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    /// <summary>Reads a checkpoint in this layout into <paramref name="model"/>; see <see cref="Import"/>.</summary>
    public LoadReport Load(nn.Module model, string path)
    {
        var state = StateDictFile.Read(path);
        try
        {
            return Import(model, state, path);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    private static Tensor Float32(Tensor t) => t.detach().to_type(ScalarType.Float32);
}
