namespace Mhc.Analyzers.Vocabulary;

/// <summary>
/// The names and defaults the analyzers, the generator and the code fix share with each other and with
/// build/Mhc.Analyzers.props. One place, so that what the fix writes is what the generator reads.
/// </summary>
internal static class MhcDefaults
{
    /// <summary>Residual streams n when neither the attribute nor the MSBuild property says otherwise.</summary>
    public const int Streams = 4;

    /// <summary>Sinkhorn–Knopp iterations t when neither the attribute nor the MSBuild property says otherwise.</summary>
    public const int SinkhornIterations = 20;

    /// <summary>
    /// Prefix of the connection fields: the fix writes <c>hc_attn.forward(...)</c> and the generator declares
    /// every <c>hc_*</c> receiver the user has not declared.
    /// </summary>
    public const string ConnectionPrefix = "hc_";

    /// <summary>MSBuild properties made visible to the compiler by build/Mhc.Analyzers.props.</summary>
    public const string StreamsProperty = "MhcStreams";

    public const string SinkhornIterationsProperty = "MhcSinkhornIterations";

    /// <summary>When true, blocks that no model in the compilation stacks convert too (a block library).</summary>
    public const string LibraryProperty = "MhcLibrary";

    /// <summary>
    /// Analyzer-config key prefix naming a block's channel width where it cannot be inferred:
    /// <c>mhc_channels.Block = config.HiddenSize</c> in .editorconfig, or <c>dotnet mhc convert --channels Block=config.HiddenSize</c>.
    /// </summary>
    public const string ChannelsKeyPrefix = "mhc_channels.";

    /// <summary>The generated constant holding a block's stream count, which the fix passes to Expand.</summary>
    public const string StreamsConstant = "HyperConnectionStreams";

    /// <summary>The generated method that builds a block's connections.</summary>
    public const string InitializeMethod = "InitializeHyperConnections";
}
