using Mhc.Runtime.Checkpoints;
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

    /// <summary>
    /// Loads a checkpoint of the original model: TorchSharp's <c>Module.save</c>, a PyTorch state dict
    /// (<c>.bin</c>/<c>.pt</c>) or safetensors (<see cref="StateDictFile"/>), with checkpoint names mapped
    /// by <paramref name="names"/> (e.g. <see cref="NameMap.HuggingFaceGpt2"/>).
    /// </summary>
    public static RetrofitReport LoadCheckpoint(nn.Module converted, string path, NameMap? names = null)
    {
        ArgumentNullException.ThrowIfNull(converted);
        var state = StateDictFile.Read(path);
        try
        {
            return Load(converted, state, names);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    /// <summary>Copies matching entries of <paramref name="state"/> into <paramref name="converted"/>.</summary>
    public static RetrofitReport Load(nn.Module converted, IReadOnlyDictionary<string, Tensor> state, NameMap? names = null)
    {
        ArgumentNullException.ThrowIfNull(converted);
        ArgumentNullException.ThrowIfNull(state);
        var streamModulePrefixes = converted.named_modules()
            .Where(m => m.module is HyperConnection or StreamReduce)
            .Select(m => m.name + ".")
            .ToList();
        bool IsStreamModuleEntry(string key) => streamModulePrefixes.Any(key.StartsWith);

        var report = StateDictLoader.Load(converted, state, names, new LoadOptions(MayBeMissing: IsStreamModuleEntry));
        var loaded = report.Loaded.ToHashSet(StringComparer.Ordinal);
        var keptAtInit = converted.state_dict().Keys.Where(k => IsStreamModuleEntry(k) && !loaded.Contains(k)).ToList();
        return new RetrofitReport(report.Loaded, keptAtInit, report.Missing, report.Unexpected, report.Mismatches);
    }
}
