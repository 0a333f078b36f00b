namespace Mhc.Analyzers.Generator;

/// <summary>
/// What the generator needs to know about one <c>[HyperConnected]</c> class. Plain values only: no
/// symbols or syntax, so the pipeline caches across edits that do not change it.
/// </summary>
/// <param name="Namespace">The containing namespace, or empty for the global namespace.</param>
/// <param name="Containing">The headers of the (partial) types the class is nested in, outermost first.</param>
/// <param name="Name">The class name with its type parameter list, e.g. <c>Block</c> or <c>Block&lt;T&gt;</c>.</param>
/// <param name="HintName">A file-name-safe unique name for the generated file.</param>
/// <param name="Connections">The connection fields to generate (<c>hc_attn</c>, ...).</param>
/// <param name="Streams">The attribute's stream count, or 0 for the build default.</param>
/// <param name="SinkhornIterations">The attribute's Sinkhorn iterations, or 0 for the build default.</param>
/// <param name="Kind">The attribute's connection kind as its enum member name.</param>
internal sealed record HyperConnectedClass(
    string Namespace,
    EquatableArray<string> Containing,
    string Name,
    string HintName,
    EquatableArray<Connection> Connections,
    int Streams,
    int SinkhornIterations,
    string Kind);

/// <summary>One generated connection field and its layer index within the block (its place among all the block's connections in source order).</summary>
internal readonly record struct Connection(string Name, int LayerIndex);

/// <summary>The project-wide defaults from the MSBuild properties MhcStreams and MhcSinkhornIterations.</summary>
internal sealed record BuildDefaults(int Streams, int SinkhornIterations);

/// <summary>A class and the settings it is generated with after defaults are applied.</summary>
internal sealed record GenerationSpec(HyperConnectedClass Class, int Streams, int SinkhornIterations);
