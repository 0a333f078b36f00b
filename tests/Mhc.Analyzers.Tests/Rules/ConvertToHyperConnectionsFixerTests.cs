using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Rules;

public class ConvertToHyperConnectionsFixerTests
{
    private static MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer> Test(string source, string fixedSource, int diagnostics)
    {
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = source,
            FixedCode = fixedSource,
            // One fix converts the whole block and its stack, whichever site it is invoked on.
            NumberOfIncrementalIterations = diagnostics == 0 ? 0 : 1,
            NumberOfFixAllIterations = diagnostics == 0 ? 0 : 1,
        };
        for (var i = 0; i < diagnostics; i++)
        {
            test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(i).WithArguments(i == 0 ? "attn" : "mlp"));
        }

        return test;
    }

    [Fact]
    public Task Gpt_is_converted_with_expand_and_reduce_around_the_stack()
        => Test(GptSources.Original, GptSources.Converted, diagnostics: 2).RunAsync();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public Task The_fix_says_when_the_project_still_needs_Mhc_Runtime(bool withRuntime)
    {
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>(withRuntime)
        {
            TestCode = GptSources.Original,
            FixedCode = GptSources.Converted,
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
            // Without Mhc.Runtime the converted code does not build yet; that is what the title says.
            CompilerDiagnostics = withRuntime ? CompilerDiagnostics.Errors : CompilerDiagnostics.None,
            CodeActionVerifier = (action, verifier) => verifier.Equal(
                withRuntime ? ConvertToHyperConnectionsFixer.Title : ConvertToHyperConnectionsFixer.TitleWithoutRuntime, action.Title),
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("attn"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(1).WithArguments("mlp"));
        return test.RunAsync();
    }

    [Fact]
    public Task Converting_twice_changes_nothing()
    {
        // The converted model has no residual sum left, so there is no diagnostic and no fix.
        var test = Test(GptSources.Converted, GptSources.Converted, diagnostics: 0);
        return test.RunAsync();
    }

    [Fact]
    public Task Owner_in_another_file_gets_expand_reduce_and_layer_indices()
    {
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        var (block, model) = SplitBlockAndModel(GptSources.Original);
        var (fixedBlock, fixedModel) = SplitBlockAndModel(GptSources.Converted);
        test.TestState.Sources.Add(("Block.cs", block));
        test.TestState.Sources.Add(("Gpt.cs", model));
        test.FixedState.Sources.Add(("Block.cs", fixedBlock));
        test.FixedState.Sources.Add(("Gpt.cs", fixedModel));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("attn"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(1).WithArguments("mlp"));
        return test.RunAsync();
    }

    /// <summary>Constructors written on one line keep their statements on that line.</summary>
    [Fact]
    public Task One_line_constructors_get_their_calls_on_their_line()
    {
        const string original = TestSetup.Usings + """
            namespace Demo;

            public sealed class Block : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln; private readonly Linear fc;
                public Block(long d) : base(nameof(Block)) { ln = LayerNorm(d); fc = Linear(d, d); RegisterComponents(); }
                public override Tensor forward(Tensor x) => {|#0:x + fc.forward(ln.forward(x))|};
            }

            public sealed class Stack : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Block> layers;
                public Stack(long d) : base(nameof(Stack)) { layers = new ModuleList<Block>(new Block(d), new Block(d)); RegisterComponents(); }
                public override Tensor forward(Tensor x)
                {
                    foreach (var layer in layers)
                        x = layer.forward(x);
                    return x;
                }
            }
            """;
        const string converted = "using Mhc.Runtime;\n" + TestSetup.Usings + """
            namespace Demo;

            [HyperConnected]
            public sealed partial class Block : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln; private readonly Linear fc;
                public Block(long d) : base(nameof(Block)) { ln = LayerNorm(d); fc = Linear(d, d); InitializeHyperConnections(channels: d); RegisterComponents(); }
                public override Tensor forward(Tensor x) => hc_fc.forward(x, h => fc.forward(ln.forward(h)));
            }

            public sealed class Stack : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Block> layers;
                public Stack(long d) : base(nameof(Stack)) { layers = new ModuleList<Block>(new Block(d), new Block(d)); RegisterComponents(); HyperConnections.AssignLayerIndices(this); }
                public override Tensor forward(Tensor x)
                {
                    x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                    x = HyperStreams.Run(x, layers, (layer, streams) => layer.forward(streams));
                    x = HyperStreams.Reduce(x);
                    return x;
                }
            }
            """;
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = original,
            FixedCode = converted,
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("fc"));
        return test.RunAsync();
    }

    /// <summary>The same source as two files: everything up to the model class, and the usings plus the model class.</summary>
    private static (string Block, string Model) SplitBlockAndModel(string source)
    {
        var split = source.IndexOf("public sealed class Gpt", StringComparison.Ordinal);
        var header = source[..(source.IndexOf("namespace Demo;", StringComparison.Ordinal) + "namespace Demo;\n\n".Length)];
        return (source[..split].TrimEnd() + "\n", header + source[split..]);
    }

    private const string Loop = """
                for (var i = 0; i < layers.Count; i++)
                {
                    x = layers[i].call(x);
                }
        """;

    private static string Run(string blockName) => $"""
                x = HyperStreams.Expand(x, {blockName}.HyperConnectionStreams);
                x = HyperStreams.Run(x, layers, (block, streams) => block.call(streams));
                x = HyperStreams.Reduce(x);
        """;

    private static string Stacked(string blockName, string body) => $$"""

        public sealed class {{blockName}}Stack : Module<Tensor, Tensor>
        {
            private readonly ModuleList<{{blockName}}> layers;

            public {{blockName}}Stack(long d) : base(nameof({{blockName}}Stack))
            {
                layers = new ModuleList<{{blockName}}>(new {{blockName}}(d), new {{blockName}}(d));
                RegisterComponents();{{(body.Length == 0 ? "" : "\n        " + body)}}
            }

            public override Tensor forward(Tensor x)
            {
        {{(body.Length == 0 ? Loop : Run(blockName))}}
                return x;
            }
        }
        """;

    [Fact]
    public Task Parallel_block_moves_the_shared_norm_into_the_branch()
    {
        const string block = """
            public sealed class Parallel : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln;
                private readonly Linear attn, mlp;

                public Parallel(long d) : base(nameof(Parallel))
                {
                    ln = LayerNorm(d);
                    attn = Linear(d, d);
                    mlp = Linear(d, d);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    var h = ln.forward(x);
                    return {|#0:x + attn.forward(h) + mlp.forward(h)|};
                }
            }
            """;
        const string converted = """
            [HyperConnected]
            public sealed partial class Parallel : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln;
                private readonly Linear attn, mlp;

                public Parallel(long d) : base(nameof(Parallel))
                {
                    ln = LayerNorm(d);
                    attn = Linear(d, d);
                    mlp = Linear(d, d);
                    InitializeHyperConnections(channels: d);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    return hc_attn_mlp.forward(x, s =>
                    {
                        var h = ln.forward(s);
                        return attn.forward(h) + mlp.forward(h);
                    });
                }
            }
            """;
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = TestSetup.Usings + block + Stacked("Parallel", ""),
            FixedCode = "using Mhc.Runtime;\n" + TestSetup.Usings + converted + Stacked("Parallel", "HyperConnections.AssignLayerIndices(this);"),
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("attn_mlp"));
        return test.RunAsync();
    }

    [Theory]
    [InlineData("{|#0:x += attn.call(ln_1.call(x))|};", "{|#1:x.add_(mlp.call(ln_2.call(x)))|};")]       // compound and in place
    [InlineData("x = ({|#0:(x) + (attn.call(ln_1.call(x)))|});", "x = ({|#1:x + mlp.call(ln_2.call(x))|});")] // in parentheses
    public Task Every_spelling_of_a_site_becomes_an_assignment(string attention, string mlp)
    {
        var block = $$"""
            public sealed class Block : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln_1, ln_2;
                private readonly Linear attn, mlp;

                public Block(long d) : base(nameof(Block))
                {
                    ln_1 = LayerNorm(d); ln_2 = LayerNorm(d);
                    attn = Linear(d, d); mlp = Linear(d, d);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    {{attention}}
                    {{mlp}}
                    return x;
                }
            }
            """;
        bool parenthesized = attention.StartsWith("x = (", StringComparison.Ordinal);
        var converted = $$"""
            [HyperConnected]
            public sealed partial class Block : Module<Tensor, Tensor>
            {
                private readonly LayerNorm ln_1, ln_2;
                private readonly Linear attn, mlp;

                public Block(long d) : base(nameof(Block))
                {
                    ln_1 = LayerNorm(d); ln_2 = LayerNorm(d);
                    attn = Linear(d, d); mlp = Linear(d, d);
                    InitializeHyperConnections(channels: d);
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    {{(parenthesized ? "x = (hc_attn.forward(x, h => attn.call(ln_1.call(h))));" : "x = hc_attn.forward(x, h => attn.call(ln_1.call(h)));")}}
                    {{(parenthesized ? "x = (hc_mlp.forward(x, h => mlp.call(ln_2.call(h))));" : "x = hc_mlp.forward(x, h => mlp.call(ln_2.call(h)));")}}
                    return x;
                }
            }
            """;
        var test = Test(TestSetup.Usings + block + Stacked("Block", ""), "using Mhc.Runtime;\n" + TestSetup.Usings + converted + Stacked("Block", "HyperConnections.AssignLayerIndices(this);"), diagnostics: 2);
        return test.RunAsync();
    }

    private const string OneSiteBlock = """
        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly Linear attn;

            public Block(long d) : base(nameof(Block))
            {
                attn = Linear(d, d);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                return {|#0:x + attn.call(x)|};
            }
        }
        """;

    private const string OneSiteBlockConverted = """
        [HyperConnected]
        public sealed partial class Block : Module<Tensor, Tensor>
        {
            private readonly Linear attn;

            public Block(long d) : base(nameof(Block))
            {
                attn = Linear(d, d);
                InitializeHyperConnections(channels: d);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                return hc_attn.forward(x, h => attn.call(h));
            }
        }
        """;

    /// <summary>The one-site block stacked by a model whose forward holds <paramref name="loop"/>; the fix must turn it into <paramref name="converted"/>.</summary>
    private static Task StackLoopIsConvertedTo(string loop, string converted)
    {
        var source = Stacked("Block", "").Replace(Loop, loop);
        var expected = Stacked("Block", "HyperConnections.AssignLayerIndices(this);").Replace(Run("Block"), converted);
        Assert.Contains(loop, source);
        Assert.Contains(converted, expected);
        return Test(TestSetup.Usings + OneSiteBlock + source, "using Mhc.Runtime;\n" + TestSetup.Usings + OneSiteBlockConverted + expected, diagnostics: 1).RunAsync();
    }

    /// <summary>The loop as it was, between Expand and Reduce (a blank line after the loop stays after Reduce).</summary>
    private static string Kept(string loop) => $"""
                x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
        {loop.TrimEnd('\n')}
                x = HyperStreams.Reduce(x);
        """ + loop[loop.TrimEnd('\n').Length..];

    [Theory]
    [InlineData("var i = 1")]         // skips the first block
    [InlineData("var i = 0; i < 1")]  // a sub-range
    public Task A_loop_over_part_of_the_stack_keeps_its_loop_between_expand_and_reduce(string header)
    {
        var partial = Loop.Replace("var i = 0; i < 1".StartsWith(header, StringComparison.Ordinal) ? "var i = 0; i < layers.Count" : "var i = 0", header);
        Assert.NotEqual(Loop, partial);
        return StackLoopIsConvertedTo(partial, Kept(partial));
    }

    [Theory]
    [InlineData("layers[layers.Count - 1 - i]")] // the blocks in reverse
    [InlineData("layers[0]")]                    // the first block, repeatedly
    public Task A_loop_that_does_not_index_by_its_counter_keeps_its_loop(string receiver)
    {
        var other = Loop.Replace("layers[i]", receiver);
        return StackLoopIsConvertedTo(other, Kept(other));
    }

    [Fact]
    public Task A_foreach_that_casts_each_block_keeps_its_loop()
    {
        const string cast = """
                    foreach (Module<Tensor, Tensor> block in layers)
                        x = block.call(x);

            """;
        return StackLoopIsConvertedTo(cast, Kept(cast));
    }

    [Fact]
    public Task The_run_names_the_list_as_the_loop_did()
        => StackLoopIsConvertedTo("""
                    var layers = 2.0;
                    foreach (var block in this.layers)
                        x = block.call(x);
                    x = x * layers;

            """, """
                    var layers = 2.0;
                    x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                    x = HyperStreams.Run(x, this.layers, (block, streams) => block.call(streams));
                    x = HyperStreams.Reduce(x);
                    x = x * layers;

            """);

    [Fact]
    public Task Comments_in_and_after_the_loop_are_kept()
        => StackLoopIsConvertedTo("""
                    // the stack
                    foreach (var block in layers)
                    {
                        // every block, in order
                        x = block.call(x); /* one step */
                    }   // end of stack

            """, """
                    x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                    // the stack
                    // every block, in order
                    /* one step */
                    x = HyperStreams.Run(x, layers, (block, streams) => block.call(streams));   // end of stack
                    x = HyperStreams.Reduce(x);

            """);

    [Fact]
    public Task A_loop_with_a_preprocessor_directive_inside_stays_as_written()
    {
        const string traced = """
                    foreach (var block in layers)
                    {
            #if TRACE_LAYERS
                        System.Console.WriteLine("layer");
            #endif
                        x = block.call(x);
                    }

            """;
        return StackLoopIsConvertedTo(traced, Kept(traced));
    }

    [Fact]
    public Task Expand_run_and_reduce_stay_inside_an_if_directive_around_the_loop()
        => StackLoopIsConvertedTo("""
            #if !NO_LAYERS
                    foreach (var block in layers)
                        x = block.call(x);
            #endif

            """, """
            #if !NO_LAYERS
                    x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                    x = HyperStreams.Run(x, layers, (block, streams) => block.call(streams));
                    x = HyperStreams.Reduce(x);
            #endif

            """);

    [Theory]
    [InlineData("else if (x.shape[0] > 1)\n            foreach (var block in layers) x = block.call(x);", "else if (x.shape[0] > 1)")]
    [InlineData("else foreach (var block in layers) x = block.call(x);", "else")]
    public Task A_loop_under_else_if_or_on_the_else_line_gets_an_indented_block(string loop, string head)
        => StackLoopIsConvertedTo($"""
                    if (x.shape[0] == 0)
                        return x;
                    {loop}

            """, $$"""
                    if (x.shape[0] == 0)
                        return x;
                    {{head}}
                    {
                        x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                        x = HyperStreams.Run(x, layers, (block, streams) => block.call(streams));
                        x = HyperStreams.Reduce(x);
                    }

            """);

    [Fact]
    public Task A_loop_that_is_the_body_of_an_unbraced_using_gets_a_block()
        => StackLoopIsConvertedTo("""
                    using (var scope = NewDisposeScope())
                        foreach (var block in layers) x = block.call(x);

            """, """
                    using (var scope = NewDisposeScope())
                    {
                        x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                        x = HyperStreams.Run(x, layers, (block, streams) => block.call(streams));
                        x = HyperStreams.Reduce(x);
                    }

            """);

    /// <summary>A one-site pre-norm block named <paramref name="name"/>; <paramref name="hyper"/> is empty, or its attribute once converted.</summary>
    private static string NamedBlock(string name, string hyper) => $$"""
        {{hyper}}public sealed {{(hyper.Length == 0 ? "" : "partial ")}}class {{name}} : Module<Tensor, Tensor>
        {
            private readonly LayerNorm norm;
            private readonly Linear ff;

            public {{name}}(long d) : base(nameof({{name}}))
            {
                norm = LayerNorm(d);
                ff = Linear(d, d);{{(hyper.Length == 0 ? "" : "\n        InitializeHyperConnections(channels: d);")}}
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => {{(hyper.Length == 0 ? "{|#" + (name == "Encoder" ? 0 : 1) + ":x + ff.forward(norm.forward(x))|}" : "hc_ff.forward(x, h => ff.forward(norm.forward(h)))")}};
        }

        """;

    [Fact]
    public Task Fix_all_converts_every_block_once()
    {
        return EncoderAndDecoderTest(Stacked("Encoder", "") + Stacked("Decoder", ""),
            Stacked("Encoder", "HyperConnections.AssignLayerIndices(this);") + Stacked("Decoder", "HyperConnections.AssignLayerIndices(this);")).RunAsync();
    }

    /// <summary>An Encoder and a Decoder block, then <paramref name="models"/>; both blocks convert, and so must the models.</summary>
    private static MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer> EncoderAndDecoderTest(string models, string convertedModels)
    {
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = TestSetup.Usings + NamedBlock("Encoder", "") + NamedBlock("Decoder", "") + models,
            FixedCode = "using Mhc.Runtime;\n" + TestSetup.Usings + NamedBlock("Encoder", "[HyperConnected]\n") + NamedBlock("Decoder", "[HyperConnected]\n") + convertedModels,
            // One fix per block when applied one at a time; Fix All converts both in one pass.
            NumberOfIncrementalIterations = 2,
            NumberOfFixAllIterations = 1,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("ff"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(1).WithArguments("ff"));
        return test;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public Task Two_stacks_in_one_model_each_get_expand_run_and_reduce(bool nestedModel)
    {
        // An encoder and a decoder stack in one model; the model may be declared inside another class.
        static string Model(bool converted) => $$"""

            public sealed class EncoderDecoder : Module<Tensor, Tensor>
            {
                private readonly ModuleList<Encoder> encoder;
                private readonly ModuleList<Decoder> decoder;

                public EncoderDecoder(long d) : base(nameof(EncoderDecoder))
                {
                    encoder = new ModuleList<Encoder>(new Encoder(d), new Encoder(d));
                    decoder = new ModuleList<Decoder>(new Decoder(d), new Decoder(d));
                    RegisterComponents();{{(converted ? "\n        HyperConnections.AssignLayerIndices(this);" : "")}}
                }

                public override Tensor forward(Tensor x)
                {
            {{(converted ? """
                    x = HyperStreams.Expand(x, Encoder.HyperConnectionStreams);
                    x = HyperStreams.Run(x, encoder, (block, streams) => block.forward(streams));
                    x = HyperStreams.Reduce(x);
                    var y = x * 2;
                    y = HyperStreams.Expand(y, Decoder.HyperConnectionStreams);
                    y = HyperStreams.Run(y, decoder, (block, streams) => block.forward(streams));
                    y = HyperStreams.Reduce(y);
            """ : """
                    foreach (var block in encoder)
                        x = block.forward(x);
                    var y = x * 2;
                    foreach (var block in decoder)
                        y = block.forward(y);
            """)}}
                    return y;
                }
            }
            """;
        string Placed(string model) => nestedModel ? "\npublic static class Models\n{" + model.Replace("\n", "\n    ").Replace("\n    \n", "\n\n") + "\n}\n" : model;
        return EncoderAndDecoderTest(Placed(Model(false)), Placed(Model(true))).RunAsync();
    }

    [Fact]
    public Task No_fix_is_offered_when_the_model_cannot_be_converted()
    {
        // A post-norm site makes the whole block unsafe: MHC0002 explains, and the code stays as it is.
        var source = Sources.Block("""
            x = x + attn.forward(ln_1.forward(x));
            return ln_2.forward({|#0:x + mlp.forward(x)|});
            """);
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = source,
            FixedCode = source,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionNotConvertible).WithSpan(28, 13, 28, 46).WithArguments(
            "the residual connection at line 29 cannot be converted (post-norm), and a block is converted as a whole"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionNotConvertible).WithLocation(0).WithArguments(
            "post-norm: the sum goes straight into 'ln_2' (LayerNorm), which would see n streams, and each stream's residual path would not be an identity"));
        return test.RunAsync();
    }

    [Fact]
    public Task Masked_layers_with_a_new_variable_per_site_are_converted()
    {
        var converted = ResidualConnectionAnalyzerTests.MaskedLayerConverted;
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = ResidualConnectionAnalyzerTests.MaskedLayer,
            FixedCode = converted,
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("attention"));
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(1).WithArguments("ff"));
        return test.RunAsync();
    }

    [Fact]
    public Task Existing_attributes_comments_and_file_header_are_kept()
    {
        const string block = """
            // Copyright header.
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            /// <summary>Doc comment.</summary>
            [System.Serializable]
            sealed class Block : Module<Tensor, Tensor>
            {
                private readonly LayerNorm norm;
                private readonly Linear ff;

                public Block(long d) : base(nameof(Block))
                {
                    norm = LayerNorm(d);
                    ff = Linear(d, d);
                    // Registers the fields above.
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    // Pre-norm feed-forward.
                    x = {|#0:x + ff.forward(norm.forward(x))|}; // residual
                    return x;
                }
            }
            """;
        const string converted = """
            // Copyright header.
            using Mhc.Runtime;
            using TorchSharp;
            using TorchSharp.Modules;
            using static TorchSharp.torch;
            using static TorchSharp.torch.nn;

            /// <summary>Doc comment.</summary>
            [System.Serializable]
            [HyperConnected]
            sealed partial class Block : Module<Tensor, Tensor>
            {
                private readonly LayerNorm norm;
                private readonly Linear ff;

                public Block(long d) : base(nameof(Block))
                {
                    norm = LayerNorm(d);
                    ff = Linear(d, d);
                    InitializeHyperConnections(channels: d);
                    // Registers the fields above.
                    RegisterComponents();
                }

                public override Tensor forward(Tensor x)
                {
                    // Pre-norm feed-forward.
                    x = hc_ff.forward(x, h => ff.forward(norm.forward(h))); // residual
                    return x;
                }
            }
            """;
        var test = new MhcCodeFixTest<ResidualConnectionAnalyzer, ConvertToHyperConnectionsFixer>
        {
            TestCode = block + Stacked("Block", ""),
            FixedCode = converted + Stacked("Block", "HyperConnections.AssignLayerIndices(this);"),
            NumberOfIncrementalIterations = 1,
            NumberOfFixAllIterations = 1,
        };
        test.ExpectedDiagnostics.Add(new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(0).WithArguments("ff"));
        return test.RunAsync();
    }
}
