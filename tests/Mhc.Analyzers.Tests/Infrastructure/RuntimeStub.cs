using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// A stand-in for Mhc.Runtime with the public API the converted code targets (same namespace, type and
/// member signatures), compiled in memory once. Bodies are the simplest that keep the converted model's
/// output equal to the original at init: Expand copies, Reduce averages, a connection adds the branch of
/// the stream mean to every stream. Tests that compile against it say so by using <see cref="Reference"/>.
/// </summary>
public static class RuntimeStub
{
    public const string Source = """
        using System;
        using System.Collections.Generic;
        using System.Linq;
        using TorchSharp;
        using static TorchSharp.torch;

        namespace Mhc.Runtime
        {
            public enum ConnectionKind { Mhc, Hc, Residual }
            public enum ReduceMode { Mean, Sum, Learned }
            public enum OpsImplementation { Fused, Reference }

            public sealed record HyperConnectionOptions
            {
                public int Streams { get; init; } = 4;
                public int SinkhornIterations { get; init; } = 20;
                public ConnectionKind Kind { get; init; } = ConnectionKind.Mhc;
                public double AlphaInit { get; init; } = 0.01;
                public OpsImplementation Implementation { get; init; } = OpsImplementation.Fused;
            }

            public sealed class HyperConnection : nn.Module<Tensor, Func<Tensor, Tensor>, Tensor>
            {
                public HyperConnection(string name, long channels, HyperConnectionOptions options, int layerIndex = 0) : base(name)
                {
                    Channels = channels;
                    Streams = options.Streams;
                    LayerIndex = layerIndex;
                }

                public long Channels { get; }
                public int Streams { get; }
                public int LayerIndex { get; internal set; }

                public override Tensor forward(Tensor streams, Func<Tensor, Tensor> branch)
                    => streams + branch(streams.mean(new long[] { -2 })).unsqueeze(-2);

                public Tensor forward(Tensor streams, nn.Module<Tensor, Tensor> branch) => forward(streams, branch.forward);
            }

            public static class HyperStreams
            {
                public static Tensor Expand(Tensor x, int streams)
                {
                    var shape = x.shape.ToList();
                    shape.Insert(shape.Count - 1, streams);
                    return x.unsqueeze(-2).expand(shape.ToArray());
                }

                public static Tensor Reduce(Tensor streams, ReduceMode mode = ReduceMode.Mean)
                    => mode == ReduceMode.Sum ? streams.sum(new long[] { -2 }) : streams.mean(new long[] { -2 });
            }

            public static class HyperConnections
            {
                public static void AssignLayerIndices(nn.Module root)
                {
                    var index = 0;
                    foreach (var connection in Find(root)) connection.LayerIndex = index++;
                }

                public static IReadOnlyList<HyperConnection> Find(nn.Module root)
                    => root.modules().OfType<HyperConnection>().ToList();
            }

            [AttributeUsage(AttributeTargets.Class)]
            public sealed class HyperConnectedAttribute : Attribute
            {
                public int Streams { get; set; }
                public int SinkhornIterations { get; set; }
                public ConnectionKind Kind { get; set; } = ConnectionKind.Mhc;
            }
        }
        """;

    private static readonly Lazy<(MetadataReference Reference, byte[] Image)> Compiled = new(Compile);

    public static MetadataReference Reference => Compiled.Value.Reference;

    /// <summary>The stub's assembly image, for tests that load and run converted code.</summary>
    public static byte[] Image => Compiled.Value.Image;

    /// <summary>
    /// Set to a built Mhc.Runtime.dll to run the same tests against the real runtime instead of the stub
    /// (the stub stays the default so this project does not depend on the runtime's build).
    /// </summary>
    public const string RealRuntimeVariable = "MHC_RUNTIME_ASSEMBLY";

    private static (MetadataReference, byte[]) Compile()
    {
        if (Environment.GetEnvironmentVariable(RealRuntimeVariable) is { Length: > 0 } path)
        {
            var real = File.ReadAllBytes(path);
            return (MetadataReference.CreateFromImage(real), real);
        }

        var compilation = CSharpCompilation.Create(
            "Mhc.Runtime",
            [CSharpSyntaxTree.ParseText(Source, new CSharpParseOptions(LanguageVersion.Latest))],
            References.Framework.Add(References.TorchSharp),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
        {
            throw new InvalidOperationException("Runtime stub does not compile:\n" + string.Join("\n", result.Diagnostics));
        }

        var image = stream.ToArray();
        return (MetadataReference.CreateFromImage(image), image);
    }
}
