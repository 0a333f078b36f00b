using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>A model's state split the way a layout needs it: the mHC connections in execution order, a learned head, the rest.</summary>
internal sealed class ModelParts
{
    private readonly List<string> _streamModulePrefixes;

    private ModelParts(Dictionary<string, Tensor> state, List<(string, HyperConnection)> connections, string? learnedHead, List<string> prefixes)
    {
        State = state;
        Connections = connections;
        LearnedHead = learnedHead;
        _streamModulePrefixes = prefixes;
    }

    public Dictionary<string, Tensor> State { get; }

    public IReadOnlyList<(string Path, HyperConnection Connection)> Connections { get; }

    public string? LearnedHead { get; }

    public bool IsStreamModuleEntry(string name) => _streamModulePrefixes.Any(name.StartsWith);

    public static ModelParts Of(nn.Module model, string layout)
    {
        var modules = model.named_modules().ToList();
        var connections = modules.Where(m => m.module is HyperConnection)
            .Select(m => (m.name, (HyperConnection)m.module))
            .OrderBy(c => c.Item2.LayerIndex)
            .ToList();
        foreach (var (name, connection) in connections)
            if (connection.Kind != ConnectionKind.Mhc)
                throw new CheckpointException($"Connection '{name}' is {connection.Kind}; the {layout} layout holds mHC connections only. Build the model with ConnectionKind.Mhc.", tensorName: name);
        if (connections.Count % 2 != 0)
            throw new CheckpointException($"The model has {connections.Count} connections; the {layout} layout takes two per layer (attention, then MLP).");
        var reduces = modules.Where(m => m.module is StreamReduce).ToList();
        var learned = reduces.Where(m => ((StreamReduce)m.module).Mode == ReduceMode.Learned).Select(m => m.name).ToList();
        if (learned.Count > 1)
            throw new CheckpointException($"The model has {learned.Count} learned stream reductions ({string.Join(", ", learned)}); the {layout} layout has room for one final reduce.");
        var prefixes = connections.Select(c => c.name + ".").Concat(reduces.Select(m => m.name + ".")).ToList();
        return new ModelParts(model.state_dict(), connections, learned.SingleOrDefault(), prefixes);
    }
}
