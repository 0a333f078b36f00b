using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints;

/// <summary>How strictly <see cref="StateDictLoader"/> takes a checkpoint.</summary>
/// <param name="Strict">Fail, loading nothing, unless every model entry and every checkpoint entry finds its match.</param>
/// <param name="MayBeMissing">Model entries that may be absent even when strict (new parameters that keep their init).</param>
public sealed record LoadOptions(bool Strict = false, Func<string, bool>? MayBeMissing = null);

/// <summary>
/// Loads a state dict into a TorchSharp module through a <see cref="NameMap"/>. It plans first and copies
/// after: a strict load that finds any problem throws before it has changed a single parameter.
/// </summary>
public static class StateDictLoader
{
    /// <summary>Reads <paramref name="path"/> (any <see cref="StateDictFormat"/>) and loads it into <paramref name="model"/>.</summary>
    public static LoadReport LoadFile(nn.Module model, string path, NameMap? map = null, LoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        var state = StateDictFile.Read(path);
        try
        {
            return Load(model, state, map, options, path);
        }
        finally
        {
            foreach (var tensor in state.Values) tensor.Dispose();
        }
    }

    /// <summary>Loads <paramref name="state"/> into <paramref name="model"/>; the caller keeps ownership of the tensors.</summary>
    public static LoadReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> state, NameMap? map = null, LoadOptions? options = null) =>
        Load(model, state, map, options, path: null);

    private static LoadReport Load(nn.Module model, IReadOnlyDictionary<string, Tensor> state, NameMap? map, LoadOptions? options, string? path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(state);
        map ??= NameMap.Identity;
        options ??= new LoadOptions();
        var target = model.state_dict();

        // checkpoint name → model name, refusing two tensors for one place.
        var sources = new Dictionary<string, string>(StringComparer.Ordinal);
        var unexpected = new List<string>();
        var ignored = new List<string>();
        foreach (var name in state.Keys.Order(StringComparer.Ordinal))
        {
            var modelName = map.Map(name);
            if (modelName is null) { ignored.Add(name); continue; }
            if (!target.ContainsKey(modelName)) { unexpected.Add(name); continue; }
            if (sources.TryGetValue(modelName, out var other))
                throw new CheckpointException($"{Where(path)}tensors '{other}' and '{name}' both map to model entry '{modelName}'; fix the name map.", path, name);
            sources[modelName] = name;
        }
        foreach (var (tied, from) in map.Ties)
            if (!sources.ContainsKey(tied) && target.ContainsKey(tied) && sources.TryGetValue(from, out var fromName))
                sources[tied] = fromName;

        var plan = new List<(string ModelName, string SourceName, Tensor Destination)>();
        var missing = new List<string>();
        var mismatches = new List<string>();
        var mismatchSources = new List<string>();
        foreach (var (modelName, destination) in target)
        {
            if (!sources.TryGetValue(modelName, out var sourceName))
            {
                if (options.MayBeMissing?.Invoke(modelName) != true) missing.Add(modelName);
                continue;
            }
            var problem = Problem(state[sourceName], destination, map.TransformFor(modelName));
            if (problem is null) plan.Add((modelName, sourceName, destination));
            else
            {
                mismatches.Add($"{modelName} (checkpoint '{sourceName}'): {problem}");
                mismatchSources.Add(sourceName);
            }
        }

        if (options.Strict && (missing.Count > 0 || unexpected.Count > 0 || mismatches.Count > 0))
            throw new CheckpointException(StrictFailure(path, missing, unexpected, mismatches), path,
                mismatchSources.FirstOrDefault() ?? unexpected.FirstOrDefault() ?? missing.FirstOrDefault());

        using (no_grad())
        {
            foreach (var (modelName, sourceName, destination) in plan)
            {
                using var scope = NewDisposeScope();
                var source = Prepared(state[sourceName], map.TransformFor(modelName));
                destination.copy_(source.to(destination.dtype, destination.device));
            }
        }
        return new LoadReport(plan.Select(p => p.ModelName).ToList(), missing, unexpected, mismatches, ignored);
    }

    /// <summary>Why <paramref name="source"/> cannot load into <paramref name="destination"/>, or null when it can.</summary>
    private static string? Problem(Tensor source, Tensor destination, Func<Tensor, Tensor>? transform)
    {
        // Floating values load into floating parameters at any precision; a different kind (integers into
        // weights, floats into an index buffer) means the file is not what the name says.
        if (source.is_floating_point() != destination.is_floating_point() || (source.dtype == ScalarType.Bool) != (destination.dtype == ScalarType.Bool))
            return $"dtype {source.dtype}, model {destination.dtype}";
        using var scope = NewDisposeScope();
        var shape = Prepared(source, transform).shape;
        return shape.SequenceEqual(destination.shape) ? null : $"shape {StreamShape.Format(shape)}, model {StreamShape.Format(destination.shape)}";
    }

    private static Tensor Prepared(Tensor source, Func<Tensor, Tensor>? transform) => transform is null ? source.alias() : transform(source);

    private static string StrictFailure(string? path, List<string> missing, List<string> unexpected, List<string> mismatches)
    {
        var parts = new List<string>();
        if (mismatches.Count > 0) parts.Add($"cannot load {LoadReport.Format(mismatches)}");
        if (unexpected.Count > 0) parts.Add($"has tensors the model has no place for: {LoadReport.Format(unexpected)}");
        if (missing.Count > 0) parts.Add($"lacks model entries {LoadReport.Format(missing)}");
        return $"{Where(path)}checkpoint does not fit the model, so nothing was loaded: {string.Join("; ", parts)}. " +
               "Fix the name map, or load without Strict to take what fits.";
    }

    private static string Where(string? path) => path is null ? "" : $"'{path}': ";
}
