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

    [ThreadStatic] private static List<Func<HyperConnectionOptions, HyperConnectionOptions>>? t_overrides;

    /// <summary>
    /// Changes the options of every <see cref="HyperConnection"/> constructed on this thread until the
    /// returned scope is disposed — the way to pick the kind (mHC, HC, residual), the implementation or
    /// the Sinkhorn iterations at run time for models whose construction code is generated. Scopes nest;
    /// inner changes apply last. Changing <c>Streams</c> here does not change the count the model passes
    /// to <see cref="HyperStreams.Expand"/>, so leave it to the model.
    /// </summary>
    public static IDisposable OverrideOptions(Func<HyperConnectionOptions, HyperConnectionOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        (t_overrides ??= new()).Add(change);
        return new OverrideScope(change);
    }

    internal static HyperConnectionOptions ApplyOverrides(HyperConnectionOptions options)
    {
        if (t_overrides is null) return options;
        foreach (var change in t_overrides)
            options = change(options) ?? throw new InvalidOperationException("An options override returned null.");
        return options;
    }

    private sealed class OverrideScope(Func<HyperConnectionOptions, HyperConnectionOptions> change) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            // The innermost scope is normally the last one added; remove that occurrence.
            int index = t_overrides?.LastIndexOf(change) ?? -1;
            if (index >= 0) t_overrides!.RemoveAt(index);
        }
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
