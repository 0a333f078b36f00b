using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Rules;

/// <summary>
/// The two analyzer-config options of the conversion: a block library (MhcLibrary), whose blocks convert
/// without a model to stack them, and a block's channel width named where nothing in the block tells it
/// (mhc_channels.&lt;Block&gt;).
/// </summary>
public class ConversionOptionsTests
{
    private const string Library = "is_global = true\nbuild_property.MhcLibrary = true\n";

    /// <summary>A block of a library, and a module of the same library that calls it once on its own.</summary>
    private static string LibraryBlock(bool converted) => (converted ? "using Mhc.Runtime;\n" : "") + TestSetup.Usings + $$"""
        {{(converted ? "[HyperConnected]\n" : "")}}public sealed {{(converted ? "partial " : "")}}class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm norm;
            private readonly Linear ff;

            public Block(long d) : base(nameof(Block))
            {
                norm = LayerNorm(d);
                ff = Linear(d, d);{{(converted ? "\n        InitializeHyperConnections(channels: d);" : "")}}
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => {{(converted ? "hc_ff.forward(x, h => ff.forward(norm.forward(h)))" : "{|#0:x + ff.forward(norm.forward(x))|}")}};
        }
        """;

    [Fact]
    public Task Without_the_library_option_a_block_no_model_stacks_is_not_convertible()
    {
        var test = new MhcAnalyzerTest<ResidualConnectionAnalyzer>(LibraryBlock(converted: false));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionNotConvertible).WithLocation(0).WithArguments(
            "no model runs 'Block' in a block stack (a loop over a ModuleList, an array or a list of them, or a Sequential of them), so there is no place for Expand and Reduce"));
        return test.RunAsync();
    }

    [Fact]
    public Task A_library_block_converts_alone_and_leaves_Expand_and_Reduce_to_its_caller()
    {
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = LibraryBlock(converted: false),
            FixedCode = LibraryBlock(converted: true),
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", Library));
        test.FixedState.AnalyzerConfigFiles.Add(("/.globalconfig", Library));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("ff"));
        return test.RunAsync();
    }

    [Fact]
    public Task A_caller_that_passes_one_stream_to_a_converted_library_block_gets_MHC1002()
    {
        var test = new MhcAnalyzerTest<StreamShapeAnalyzer>(LibraryBlock(converted: true) + """

            public sealed class Caller : Module<Tensor, Tensor>
            {
                private readonly Block block;
                private readonly Linear embed;

                public Caller(long d) : base(nameof(Caller)) { block = new Block(d); embed = Linear(d, d); RegisterComponents(); }

                public override Tensor forward(Tensor x)
                {
                    var h = embed.forward(x);
                    return block.forward({|#0:h|});
                }
            }
            """, withGenerator: true);
        test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", Library));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.BlockInputNotExpanded).WithLocation(0).WithArguments("Block", "h"));
        return test.RunAsync();
    }

    /// <summary>A wrapper around any module: nothing in it tells the width, so it is named for it.</summary>
    private static string Wrapper(string marker, string converted = "") => TestSetup.Usings + Sources.Stack.Replace("Block", "Wrapped").Replace("new Wrapped(d)", "new Wrapped(Linear(d, d), d)") + $$"""

        {{(converted.Length == 0 ? "" : "[HyperConnected]\n")}}public sealed {{(converted.Length == 0 ? "" : "partial ")}}class Wrapped : Module<Tensor, Tensor>
        {
            private readonly Module<Tensor, Tensor> fn;

            public Wrapped(Module<Tensor, Tensor> fn, long width) : base(nameof(Wrapped))
            {
                this.fn = fn;{{converted}}
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => {{marker}};
        }
        """;

    [Fact]
    public Task A_block_whose_width_nothing_tells_says_how_to_name_it()
    {
        var test = new MhcAnalyzerTest<ResidualConnectionAnalyzer>(Wrapper("{|#0:x + fn.forward(x)|}"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionNotConvertible).WithLocation(0).WithArguments(
            "the channel width of 'Wrapped' is not known: 'fn' is not built here from a width this analysis can follow; name it with 'mhc_channels.Wrapped = <width expression>' in .editorconfig or 'dotnet mhc convert --channels Wrapped=<width expression>'"));
        return test.RunAsync();
    }

    [Fact]
    public Task A_width_named_in_editorconfig_converts_the_block()
    {
        const string config = "root = true\n\n[*.cs]\nmhc_channels.Wrapped = width\n";
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = Wrapper("{|#0:x + fn.forward(x)|}"),
            FixedCode = "using Mhc.Runtime;\n" + Wrapper("hc_fn.forward(x, h => fn.forward(h))", "\n        InitializeHyperConnections(channels: width);")
                .Replace("""
                        foreach (var block in blocks)
                            x = block.forward(x);
                """, """
                        x = HyperStreams.Expand(x, Wrapped.HyperConnectionStreams);
                        x = HyperStreams.Run(x, blocks, (block, streams) => block.forward(streams));
                        x = HyperStreams.Reduce(x);
                """)
                .Replace("        RegisterComponents();\n    }\n\n    public override Tensor forward(Tensor x)\n    {\n        x = HyperStreams", "        RegisterComponents();\n        HyperConnections.AssignLayerIndices(this);\n    }\n\n    public override Tensor forward(Tensor x)\n    {\n        x = HyperStreams"),
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", config));
        test.FixedState.AnalyzerConfigFiles.Add(("/.editorconfig", config));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("fn"));
        return test.RunAsync();
    }

    [Fact]
    public Task A_named_width_that_is_not_valid_in_the_constructor_is_reported()
    {
        var test = new MhcAnalyzerTest<ResidualConnectionAnalyzer>(Wrapper("{|#0:x + fn.forward(x)|}"));
        test.TestState.AnalyzerConfigFiles.Add(("/.editorconfig", "root = true\n\n[*.cs]\nmhc_channels.Wrapped = config.Width\n"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionNotConvertible).WithLocation(0).WithArguments(
            "the width 'config.Width' named for 'Wrapped' (mhc_channels.Wrapped) is not an integer expression valid in its constructor at line 27; name a constructor parameter, a field or an expression of them"));
        return test.RunAsync();
    }
}
