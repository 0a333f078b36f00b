using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Rules;

public class ResidualConnectionAnalyzerTests
{
    private static Task Verify(string source, params DiagnosticResult[] expected)
    {
        var test = new MhcAnalyzerTest<ResidualConnectionAnalyzer>(source);
        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    private static DiagnosticResult Found(int marker, string branch)
        => new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionFound).WithLocation(marker).WithArguments(branch);

    private static DiagnosticResult NotConvertible(int marker, string reason)
        => new DiagnosticResult(DiagnosticDescriptors.ResidualConnectionNotConvertible).WithLocation(marker).WithArguments(reason);

    [Theory]
    [InlineData("x = {|#0:x + attn.forward(ln_1.forward(x))|};\nreturn x;", "attn")]
    [InlineData("x = {|#0:x + attn.call(ln_1.call(x))|};\nreturn x;", "attn")]
    [InlineData("x = {|#0:mlp.forward(ln_2.forward(x)) + x|};\nreturn x;", "mlp")]
    [InlineData("{|#0:x += mlp.forward(ln_2.forward(x))|};\nreturn x;", "mlp")]
    [InlineData("return {|#0:x + attn.forward(ln_1.forward(x))|};", "attn")]
    [InlineData("=> {|#0:x + attn.forward(ln_1.forward(x))|};", "attn")]
    [InlineData("return {|#0:x.add(attn.forward(ln_1.forward(x)))|};", "attn")]
    [InlineData("return {|#0:torch.add(x, attn.forward(ln_1.forward(x)))|};", "attn")]
    [InlineData("return {|#0:torch.add(attn.forward(ln_1.forward(x)), x)|};", "attn")]
    [InlineData("{|#0:x.add_(attn.forward(ln_1.forward(x)))|};\nreturn x;", "attn")]
    [InlineData("x = {|#0:x + drop.forward(attn.forward(ln_1.forward(x)))|};\nreturn x;", "attn")]
    [InlineData("x = {|#0:x + gamma * attn.forward(ln_1.forward(x))|};\nreturn x;", "attn")]
    [InlineData("var h = ln_1.forward(x);\nreturn {|#0:x + attn.forward(h) + mlp.forward(h)|};", "attn_mlp")]
    [InlineData("x = ({|#0:x + attn.forward(ln_1.forward(x))|});\nreturn x;", "attn")]
    [InlineData("return ({|#0:x + attn.forward(ln_1.forward(x))|});", "attn")]
    [InlineData("x = {|#0:(x) + (attn.forward(ln_1.forward(x)))|};\nreturn x;", "attn")]
    public Task Single_residual_spellings_are_found(string forward, string branch)
        => Verify(Sources.Block(forward), Found(0, branch));

    [Fact]
    public Task Two_sites_in_a_pre_norm_block_are_both_found()
        => Verify(
            Sources.Block("""
                x = {|#0:x + attn.forward(ln_1.forward(x))|};   // attention
                x = {|#1:x + mlp.forward(ln_2.forward(x))|};    // feed-forward
                return x;
                """),
            Found(0, "attn"),
            Found(1, "mlp"));

    [Fact]
    public Task A_new_variable_per_site_with_a_mask_argument_is_found()
        => Verify(MaskedLayer, Found(0, "attention"), Found(1, "ff"));

    /// <summary>A Llama-style layer: a mask argument, and a new variable per residual site.</summary>
    internal const string MaskedLayer = TestSetup.Usings + """
        public sealed class Attention : Module<Tensor, Tensor, Tensor>
        {
            private readonly Linear proj;
            public Attention(long d) : base(nameof(Attention)) { proj = Linear(d, d); RegisterComponents(); }
            public override Tensor forward(Tensor x, Tensor mask) => proj.forward(x) * mask;
        }

        public sealed class Layer : Module<Tensor, Tensor, Tensor>
        {
            private readonly LayerNorm norm;
            private readonly LayerNorm ffn_norm;
            private readonly Attention attention;
            private readonly Linear ff;

            public Layer(long d) : base(nameof(Layer))
            {
                norm = LayerNorm(d);
                ffn_norm = LayerNorm(d);
                attention = new Attention(d);
                ff = Linear(d, d);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x, Tensor mask)
            {
                var h = {|#0:x + attention.call(norm.call(x), mask)|};
                var o = {|#1:h + ff.call(ffn_norm.call(h))|};
                return o;
            }
        }

        public sealed class Transformer : Module<Tensor, Tensor, Tensor>
        {
            private readonly ModuleList<Layer> layers;

            public Transformer(long d) : base(nameof(Transformer))
            {
                layers = new ModuleList<Layer>(new Layer(d), new Layer(d));
                RegisterComponents();
            }

            public override Tensor forward(Tensor x, Tensor mask)
            {
                foreach (var layer in layers)
                {
                    x = layer.call(x, mask);
                }

                return x;
            }
        }
        """;

    /// <summary><see cref="MaskedLayer"/> as the code fix converts it.</summary>
    internal static string MaskedLayerConverted => "using Mhc.Runtime;\n" + MaskedLayer
            .Replace("public sealed class Layer", "[HyperConnected]\npublic sealed partial class Layer")
            .Replace("        RegisterComponents();\n    }\n\n    public override Tensor forward(Tensor x, Tensor mask)\n    {\n        var h",
                     "        InitializeHyperConnections(channels: d);\n        RegisterComponents();\n    }\n\n    public override Tensor forward(Tensor x, Tensor mask)\n    {\n        var h")
            .Replace("{|#0:x + attention.call(norm.call(x), mask)|}", "hc_attention.forward(x, s => attention.call(norm.call(s), mask))")
            .Replace("{|#1:h + ff.call(ffn_norm.call(h))|}", "hc_ff.forward(h, s => ff.call(ffn_norm.call(s)))")
            .Replace("        RegisterComponents();\n    }\n\n    public override Tensor forward(Tensor x, Tensor mask)\n    {\n        foreach (var layer in layers)\n        {\n            x = layer.call(x, mask);\n        }\n",
                     "        RegisterComponents();\n        HyperConnections.AssignLayerIndices(this);\n    }\n\n    public override Tensor forward(Tensor x, Tensor mask)\n    {\n" +
                     "        x = HyperStreams.Expand(x, Layer.HyperConnectionStreams);\n        x = HyperStreams.Run(x, layers, (layer, streams) => layer.call(streams, mask));\n        x = HyperStreams.Reduce(x);\n");

    [Theory]
    [InlineData("return wte.forward(idx) + wpe.forward(x);")]           // embedding sum
    [InlineData("return x + bias;")]                                     // bias add
    [InlineData("return attn.forward(x) + mlp.forward(x);")]           // two branches, no identity path
    [InlineData("return x + x;")]                                        // no branch
    [InlineData("return x + attn.forward(idx);")]                        // branch of an unrelated tensor
    [InlineData("return x + proj.forward(x);")]                          // Linear(d, 2 * d) changes the width
    [InlineData("return x.repeat(1, 2) + proj.forward(x);")]             // width-changing shortcut
    [InlineData("return x.add(attn.forward(x), 0.5);")]                  // alpha scales the identity-free sum
    [InlineData("return x * attn.forward(ln_1.forward(x));")]            // gating, not a sum
    public Task Additions_that_are_not_residual_connections_are_not_reported(string forward)
        => Verify(Sources.Block(forward, """
            private readonly Embedding wte = Embedding(10, 4);
            private readonly Embedding wpe = Embedding(10, 4);
            private readonly Parameter bias = Parameter(zeros(4));
            private readonly Linear proj = Linear(4, 2 * 4);
            private readonly Tensor idx = zeros(3);
            """));

    [Fact]
    public Task Width_change_from_constructor_arguments_is_not_reported()
        => Verify(TestSetup.Usings + """
            public sealed class Widen : Module<Tensor, Tensor>
            {
                private readonly Linear proj;
                public Widen(long d) : base(nameof(Widen)) { proj = Linear(d, 2 * d); RegisterComponents(); }
                public override Tensor forward(Tensor x) => x + proj.forward(x);
            }
            """);

    [Fact]
    public Task Inline_mlp_that_widens_then_narrows_back_is_found()
        => Verify(
            Sources.Block("x = {|#0:x + fc2.forward(functional.gelu(fc1.forward(ln_2.forward(x))))|};\nreturn x;", """
                private readonly Linear fc1 = Linear(4, 4 * 4);
                private readonly Linear fc2 = Linear(4 * 4, 4);
                """),
            Found(0, "fc2"));

    [Fact]
    public Task Post_norm_is_reported_as_not_convertible()
        => Verify(
            Sources.Block("return ln_1.forward({|#0:x + attn.forward(x)|});"),
            NotConvertible(0, "post-norm: the sum goes straight into 'ln_1' (LayerNorm), which would see n streams, and each stream's residual path would not be an identity"));

    [Fact]
    public Task Post_norm_through_the_functional_norm_is_reported_as_not_convertible()
        => Verify(
            Sources.Block("return functional.layer_norm({|#0:x + attn.forward(x)|}, new long[] { 4 });"),
            NotConvertible(0, "post-norm: the sum goes straight into 'functional.layer_norm', which would normalize across the n streams, and each stream's residual path would not be an identity"));

    [Fact]
    public Task A_residual_in_an_else_branch_names_the_negated_condition()
        => Verify(
            Sources.Block("""
                if (x.dim() > 3)
                    x = {|#0:x + attn.forward(ln_1.forward(x))|};
                else
                    x = {|#1:x + mlp.forward(ln_2.forward(x))|};
                return x;
                """),
            NotConvertible(0, "the residual exists only when 'x.dim() > 3', and a connection would change the path without it"),
            NotConvertible(1, "the residual exists only when '!(x.dim() > 3)', and a connection would change the path without it"));

    [Fact]
    public Task Channel_first_convolution_is_reported_as_not_convertible()
        => Verify(
            Sources.Block("return {|#0:x + conv.forward(bn.forward(x))|};", """
                private readonly BatchNorm2d bn = BatchNorm2d(4);
                private readonly Conv2d conv = Conv2d(4, 4, 3, padding: 1);
                """),
            NotConvertible(0, "channel-first convolutional block: 'Conv2d' keeps channels on axis 1, but streams are stacked just before the last (channel) axis"));

    [Fact]
    public Task Stream_variable_used_outside_residual_sites_is_reported()
        => Verify(
            Sources.Block("""
                x = {|#0:x + attn.forward(ln_1.forward(x))|};
                var scale = x.shape[0];
                return x * scale;
                """),
            NotConvertible(0, "the residual stream 'x' is also used at line 30 ('return x * scale;'), where it would hold n streams"));

    [Fact]
    public Task Block_without_a_stack_is_reported()
        => Verify(
            Sources.Block("return {|#0:x + attn.forward(ln_1.forward(x))|};").Replace(Sources.Stack, ""),
            NotConvertible(0, "no model runs 'Block' in a block stack (a loop over a ModuleList, an array or a list of them, or a Sequential of them), so there is no place for Expand and Reduce"));

    [Fact]
    public Task A_block_that_runs_in_two_stacks_is_convertible()
        => Verify(
            Sources.Block("return {|#0:x + attn.forward(ln_1.forward(x))|};")
                .Replace("private readonly ModuleList<Block> blocks;", "private readonly ModuleList<Block> blocks, more;")
                .Replace("blocks = new ModuleList<Block>(new Block(d), new Block(d));", "blocks = new ModuleList<Block>(new Block(d));\n        more = new ModuleList<Block>(new Block(d));")
                .Replace("        return x;\n    }\n}", "        var y = x;\n        foreach (var block in more)\n            y = block.forward(y);\n        return y;\n    }\n}"),
            Found(0, "attn"));

    [Fact]
    public Task A_block_list_run_by_two_loops_is_convertible()
        => Verify(
            Sources.Block("return {|#0:x + attn.forward(ln_1.forward(x))|};")
                .Replace("        foreach (var block in blocks)\n            x = block.forward(x);",
                    "        if (x.shape[0] > 1)\n            foreach (var block in blocks)\n                x = block.forward(x);\n        else\n            foreach (var block in blocks)\n                x = block.forward(x);"),
            Found(0, "attn"));

    [Fact]
    public Task Already_hyper_connected_blocks_are_not_reported()
        => Verify(Sources.Block("return x + attn.forward(ln_1.forward(x));")
            .Replace("public sealed class Block", "[Mhc.Runtime.HyperConnected]\npublic sealed partial class Block"));

    [Fact]
    public Task Residual_connections_are_found_before_Mhc_Runtime_is_referenced()
    {
        var test = new MhcAnalyzerTest<ResidualConnectionAnalyzer>(Sources.Block("return {|#0:x + attn.forward(ln_1.forward(x))|};"), withRuntime: false);
        test.ExpectedDiagnostics.Add(Found(0, "attn"));
        return test.RunAsync();
    }

    [Fact]
    public Task A_site_inside_a_loop_is_not_convertible()
        => Verify(
            Sources.Block("""
                for (var i = 0; i < 2; i++)
                    x = {|#0:x + attn.forward(ln_1.forward(x))|};
                return x;
                """),
            NotConvertible(0, "it is inside a loop, and every iteration would need a connection of its own"));

    [Fact]
    public Task Sums_inside_lambdas_are_not_the_blocks_residual_stream()
        => Verify(Sources.Block("""
            System.Func<Tensor, Tensor> f = t => t + attn.forward(ln_1.forward(t));
            return f(x);
            """));

    [Fact]
    public Task A_sum_stored_in_a_field_is_not_convertible()
        => Verify(
            Sources.Block("""
                cache = {|#0:x + attn.forward(ln_1.forward(x))|};
                return cache;
                """, "private Tensor cache = zeros(4);"),
            NotConvertible(0, "the residual sum is stored in 'cache', which is not a local variable, so it would keep n streams beyond this method"));
}
