namespace Mhc.Runtime;

/// <summary>What a <see cref="HyperConnection"/> computes at its residual site.</summary>
public enum ConnectionKind
{
    /// <summary>Manifold-constrained hyper-connection: H_res projected onto the doubly stochastic matrices (MHC-SPEC §2–§3).</summary>
    Mhc,
    /// <summary>Unconstrained dynamic hyper-connection (Zhu et al.; MHC-SPEC §4). For comparison: its gains are unbounded.</summary>
    Hc,
    /// <summary>A plain residual add around the mean of the streams; with one stream it is exactly <c>x + F(x)</c>.</summary>
    Residual,
}
