namespace Mhc.Runtime;

/// <summary>Options of one <see cref="HyperConnection"/>. Defaults follow the mHC paper (n = 4, t = 20, α = 0.01).</summary>
public sealed record HyperConnectionOptions
{
    /// <summary>Number of parallel residual streams n (at least 2 for <see cref="ConnectionKind.Mhc"/> and <see cref="ConnectionKind.Hc"/>).</summary>
    public int Streams { get; init; } = 4;

    /// <summary>Sinkhorn–Knopp iterations t_max for the mHC projection.</summary>
    public int SinkhornIterations { get; init; } = 20;

    public ConnectionKind Kind { get; init; } = ConnectionKind.Mhc;

    /// <summary>Initial value of the learnable scales α_pre, α_post, α_res.</summary>
    public double AlphaInit { get; init; } = 0.01;

    /// <summary>Fused kernels or the reference composition of TorchSharp operations.</summary>
    public OpsImplementation Implementation { get; init; } = OpsImplementation.Fused;

    /// <summary>
    /// Logit gap between the diagonal and the off-diagonal entries of the initial H_res bias: the mixing
    /// starts near the identity (gap 4 gives a diagonal weight of about 0.95 at n = 4) yet stays trainable.
    /// </summary>
    public double IdentityLogitGap { get; init; } = 4.0;

    /// <summary>ε of the RMS normalisation inside the coefficient computation.</summary>
    public double RmsEpsilon { get; init; } = 1e-6;

    /// <summary>
    /// The formulas an mHC connection follows: MHC-SPEC (default), or those of Megatron-LM or DeepSeek-V4, so that
    /// a model exported to either computes there what it computed here (docs/compat-spec.md).
    /// </summary>
    public ConnectionConvention Convention { get; init; } = ConnectionConvention.MhcSpec;

    internal void Validate()
    {
        if (Streams < 1)
            throw new ArgumentOutOfRangeException(nameof(Streams), Streams, "A connection needs at least one stream.");
        if (Streams < 2 && Kind != ConnectionKind.Residual)
            throw new ArgumentOutOfRangeException(nameof(Streams), Streams,
                $"{Kind} connections need at least 2 streams; use ConnectionKind.Residual for a single stream.");
        if (SinkhornIterations < 1)
            throw new ArgumentOutOfRangeException(nameof(SinkhornIterations), SinkhornIterations, "Sinkhorn needs at least one iteration.");
        if (RmsEpsilon <= 0)
            throw new ArgumentOutOfRangeException(nameof(RmsEpsilon), RmsEpsilon, "The RMS epsilon must be positive.");
        if (!Enum.IsDefined(Convention))
            throw new ArgumentOutOfRangeException(nameof(Convention), Convention, "Unknown connection convention.");
        if (Convention != ConnectionConvention.MhcSpec && Kind != ConnectionKind.Mhc)
            throw new ArgumentException(
                $"Convention {Convention} describes mHC connections only, but Kind is {Kind}; use ConnectionConvention.MhcSpec with {Kind}.",
                nameof(Convention));
    }
}
