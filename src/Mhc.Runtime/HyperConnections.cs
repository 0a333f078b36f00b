using System.Collections.Immutable;
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

    // Flows with the async context, so a scope holds across awaits; each scope restores what it replaced.
    private static readonly AsyncLocal<ImmutableList<Func<HyperConnectionOptions, HyperConnectionOptions>>?> s_overrides = new();

    /// <summary>
    /// Changes the options of every <see cref="HyperConnection"/> constructed in this (async) context
    /// until the returned scope is disposed — the way to pick the kind (mHC, HC, residual), the
    /// implementation or the Sinkhorn iterations at run time for models whose construction code is
    /// generated. Scopes nest; inner changes apply last. Changing <c>Streams</c> here does not change the
    /// count the model passes to <see cref="HyperStreams.Expand"/>, so leave it to the model.
    /// </summary>
    public static IDisposable OverrideOptions(Func<HyperConnectionOptions, HyperConnectionOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        var previous = s_overrides.Value;
        s_overrides.Value = (previous ?? ImmutableList<Func<HyperConnectionOptions, HyperConnectionOptions>>.Empty).Add(change);
        return new OverrideScope(previous);
    }

    internal static HyperConnectionOptions ApplyOverrides(HyperConnectionOptions options)
    {
        foreach (var change in s_overrides.Value ?? ImmutableList<Func<HyperConnectionOptions, HyperConnectionOptions>>.Empty)
            options = change(options) ?? throw new InvalidOperationException("An options override returned null.");
        return options;
    }

    private sealed class OverrideScope(ImmutableList<Func<HyperConnectionOptions, HyperConnectionOptions>>? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            s_overrides.Value = previous;
        }
    }

    /// <summary>
    /// Switches recompute (paper Eq. 20) on or off for every connection under <paramref name="root"/>: mHC
    /// connections then keep one input stream state per recompute segment for the backward and re-derive
    /// the rest, which lowers a training step's peak memory at the cost of one extra merge per connection.
    /// Gradients are unchanged. Takes effect where the blocks run through <see cref="HyperStreams.Run{TBlock}"/>
    /// (the converter emits it) on the fused CPU kernels; HC and residual connections are not affected.
    /// A block must not change the streams a connection returned in place (<c>y.mul_(2)</c>) before the next
    /// connection takes them: the backward would re-derive them as they were before the change. Out of place
    /// (<c>y = y * 2</c>) is fine: it starts a new segment.
    /// </summary>
    /// <returns>The number of mHC connections switched.</returns>
    public static int EnableRecompute(nn.Module root, bool enabled = true)
    {
        var connections = Find(root);
        foreach (var connection in connections)
            connection.Recompute = enabled;
        return connections.Count(c => c.Kind == ConnectionKind.Mhc);
    }

    /// <summary>
    /// Connections per recompute segment for <paramref name="connections"/> mHC connections of
    /// <paramref name="streams"/> streams: the paper's optimum sqrt(n·L/(n+2)), rounded, at least 1.
    /// </summary>
    public static int RecomputeSegmentLength(int streams, int connections)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(streams, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 0);
        return Math.Max(1, (int)Math.Round(Math.Sqrt(streams * (double)connections / (streams + 2))));
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
