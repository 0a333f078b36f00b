using static TorchSharp.torch;

namespace Mhc.Runtime;

/// <summary>Whole-model helpers for the connections a model contains.</summary>
public static class HyperConnections
{
    /// <summary>Every <see cref="HyperConnection"/> under <paramref name="root"/>, in module registration order.</summary>
    public static IReadOnlyList<HyperConnection> Find(nn.Module root) =>
        FindNamed(root).Select(c => c.Connection).ToList();

    /// <summary>Every connection with its qualified module name (e.g. <c>h.0.hc_attn</c>).</summary>
    public static IReadOnlyList<(string Name, HyperConnection Connection)> FindNamed(nn.Module root)
    {
        ArgumentNullException.ThrowIfNull(root);
        // named_modules() lists descendants only; a connection passed as the root counts too.
        var self = root is HyperConnection connection
            ? new[] { (root.GetName(), connection) }
            : Array.Empty<(string, HyperConnection)>();
        return self.Concat(root.named_modules()
                .Where(m => m.module is HyperConnection)
                .Select(m => (m.name, (HyperConnection)m.module)))
            .ToList();
    }

    /// <summary>
    /// Numbers every connection under <paramref name="root"/> 0, 1, 2, … in module order and re-applies
    /// the layer-dependent symmetry-breaking init. Call once, after the model is built and registered.
    /// </summary>
    public static void AssignLayerIndices(nn.Module root)
    {
        var connections = Find(root);
        for (int i = 0; i < connections.Count; i++)
            connections[i].ResetLayerIndex(i);
    }
}
