using System.Collections.Immutable;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Generator;

/// <summary>
/// Snapshot tests: the generator's output must equal the approved file and compile together with the
/// user's half of the class (the Roslyn generator test compiles both and fails on any error).
/// </summary>
public class HyperConnectionGeneratorTests
{
    internal const string ConvertedBlock = TestSetup.Usings + """
        using Mhc.Runtime;

        namespace Demo;

        [HyperConnected]
        public sealed partial class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln_1, ln_2;
            private readonly Linear attn, mlp;

            public Block(long d) : base(nameof(Block))
            {
                ln_1 = LayerNorm(d); attn = Linear(d, d); ln_2 = LayerNorm(d); mlp = Linear(d, d);
                InitializeHyperConnections(channels: d);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));
                x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));
                return x;
            }
        }
        """;

    private static async Task Verify(string source, string? globalConfig, params (string HintName, string Snapshot)[] expected)
    {
        var actual = RunGenerator(source, globalConfig);
        var test = new CSharpSourceGeneratorTest<HyperConnectionGenerator, DefaultVerifier>
        {
            ReferenceAssemblies = References.None,
        };
        TestSetup.Configure(test.TestState, withRuntime: true);
        test.TestState.Sources.Add(source);
        if (globalConfig is not null)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", globalConfig));
        }

        foreach (var (hintName, snapshot) in expected)
        {
            var text = actual.TryGetValue(hintName, out var generated) ? generated : "";
            test.TestState.GeneratedSources.Add((typeof(HyperConnectionGenerator), hintName, Snapshot.Read(snapshot, text)));
        }

        await test.RunAsync();
    }

    /// <summary>The generator's output by hint name, used only to refresh approved files.</summary>
    private static Dictionary<string, string> RunGenerator(string source, string? globalConfig)
    {
        var compilation = Compile(source);
        var driver = CSharpGeneratorDriver.Create(
            [new HyperConnectionGenerator().AsSourceGenerator()],
            optionsProvider: globalConfig is null ? null : new GlobalConfigOptions(globalConfig));
        return driver.RunGenerators(compilation).GetRunResult().Results
            .SelectMany(r => r.GeneratedSources)
            .ToDictionary(s => s.HintName, s => s.SourceText.ToString());
    }

    internal static CSharpCompilation Compile(params string[] sources)
        => CSharpCompilation.Create(
            "Demo",
            sources.Select(s => CSharpSyntaxTree.ParseText(s, new CSharpParseOptions(LanguageVersion.CSharp12))),
            References.Framework.Add(References.TorchSharp).Add(MhcRuntime.Reference),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    [Fact]
    public Task Block_with_two_connections_uses_build_defaults()
        => Verify(ConvertedBlock, null, ("Demo.Block.HyperConnections.g.cs", "Block.Defaults.g.cs"));

    [Fact]
    public Task MSBuild_properties_set_defaults_and_the_attribute_overrides_them()
        => Verify(
            ConvertedBlock.Replace("[HyperConnected]", "[HyperConnected(Streams = 8, Kind = ConnectionKind.Hc)]"),
            "is_global = true\nbuild_property.MhcStreams = 2\nbuild_property.MhcSinkhornIterations = 10\n",
            ("Demo.Block.HyperConnections.g.cs", "Block.Overrides.g.cs"));

    [Fact]
    public Task Connections_the_user_declared_are_left_alone_and_the_global_namespace_works()
        => Verify(
            ConvertedBlock.Replace("namespace Demo;", "").Replace(
                "private readonly Linear attn, mlp;",
                "private readonly Linear attn, mlp;\n    private readonly HyperConnection hc_attn = new(\"hc_attn\", 4, new HyperConnectionOptions());"),
            null,
            ("Block.HyperConnections.g.cs", "Block.GlobalNamespace.g.cs"));

    [Fact]
    public void A_class_that_is_not_partial_gets_nothing()
    {
        var output = RunGenerator(ConvertedBlock.Replace("sealed partial class", "sealed class"), null);
        Assert.Empty(output);
    }

    internal sealed class GlobalConfigOptions(string globalConfig) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptionsProvider
    {
        private readonly Options _global = new(globalConfig);

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GlobalOptions => _global;

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _global;

        public override Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _global;

        private sealed class Options(string text) : Microsoft.CodeAnalysis.Diagnostics.AnalyzerConfigOptions
        {
            private readonly ImmutableDictionary<string, string> _values = text
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => l.Split('=', 2))
                .Where(p => p.Length == 2)
                .ToImmutableDictionary(p => p[0].Trim(), p => p[1].Trim());

            public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
        }
    }
}
