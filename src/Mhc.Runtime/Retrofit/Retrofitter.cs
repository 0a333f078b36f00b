using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Retrofit;

/// <summary>
/// Loads the weights of a trained residual model into its hyper-connected form. Sub-modules keep their
/// names under conversion, so entries match by name; the new connection parameters stay at their
/// function-preserving init, and the retrofitted model starts out computing what the original computed.
/// </summary>
public static class Retrofitter
{
    /// <summary>Copies the state of <paramref name="original"/> into <paramref name="converted"/>.</summary>
    public static RetrofitReport LoadFrom(nn.Module converted, nn.Module original)
    {
        ArgumentNullException.ThrowIfNull(original);
        return Load(converted, original.state_dict());
    }

    /// <summary>Loads a checkpoint written by TorchSharp's <c>Module.save</c> from the original model.</summary>
    public static RetrofitReport LoadCheckpoint(nn.Module converted, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        var state = TorchSharpCheckpoint.Read(path);
        try
        {
            return Load(converted, state);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    /// <summary>Copies matching entries of <paramref name="state"/> into <paramref name="converted"/>.</summary>
    public static RetrofitReport Load(nn.Module converted, IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(converted);
        ArgumentNullException.ThrowIfNull(state);
        var target = converted.state_dict();
        var streamModulePrefixes = converted.named_modules()
            .Where(m => m.module is HyperConnection or StreamReduce)
            .Select(m => m.name + ".")
            .ToList();

        var loaded = new List<string>();
        var keptAtInit = new List<string>();
        var missing = new List<string>();
        var mismatched = new List<string>();
        using (no_grad())
        {
            foreach (var (key, destination) in target)
            {
                if (!state.TryGetValue(key, out var source))
                {
                    (streamModulePrefixes.Any(key.StartsWith) ? keptAtInit : missing).Add(key);
                    continue;
                }
                if (!source.shape.SequenceEqual(destination.shape))
                {
                    mismatched.Add($"{key}: checkpoint {StreamShape.Format(source.shape)}, model {StreamShape.Format(destination.shape)}");
                    continue;
                }
                using var converted_ = source.to(destination.dtype, destination.device);
                destination.copy_(converted_);
                loaded.Add(key);
            }
        }
        var unexpected = state.Keys.Where(k => !target.ContainsKey(k)).ToList();
        return new RetrofitReport(loaded, keptAtInit, missing, unexpected, mismatched);
    }
}
