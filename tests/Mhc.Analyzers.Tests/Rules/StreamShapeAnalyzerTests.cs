using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Rules;

/// <summary>Stream-shape rules on the converted GPT of the code fix tests, broken one way at a time.</summary>
public class StreamShapeAnalyzerTests
{
    private const string Converted = GptSources.Converted;

    private const string Loop = """
                x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));
        """;

    private static Task Verify(string source, string? globalConfig = null, params DiagnosticResult[] expected)
    {
        var test = new MhcAnalyzerTest<StreamShapeAnalyzer>(source, withGenerator: true);
        if (globalConfig is not null)
        {
            test.TestState.AnalyzerConfigFiles.Add(("/.globalconfig", globalConfig));
        }

        test.ExpectedDiagnostics.AddRange(expected);
        return test.RunAsync();
    }

    private static string Edit(string oldText, string newText)
    {
        Assert.Contains(oldText, Converted);
        return Converted.Replace(oldText, newText);
    }

    [Fact]
    public Task The_converted_model_has_no_stream_shape_errors()
        => Verify(Converted);

    [Fact]
    public Task Reducing_and_re_expanding_inside_the_block_loop_is_an_error()
        => Verify(
            Edit(Loop, """
                        foreach (var block in h)
                        {
                            x = block.forward(x);
                            x = {|#0:HyperStreams.Reduce(x)|};
                            x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                        }
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamsCollapsedInsideStack).WithLocation(0).WithArguments("HyperStreams.Reduce(x)"));

    [Fact]
    public Task Averaging_over_the_streams_and_re_expanding_inside_the_loop_is_an_error()
        => Verify(
            Edit(Loop, """
                        foreach (var block in h)
                        {
                            x = HyperStreams.Expand({|#0:x.mean(new long[] { -2 })|}, Block.HyperConnectionStreams);
                            x = block.forward(x);
                        }
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamsCollapsedInsideStack).WithLocation(0).WithArguments("x.mean(new long[] { -2 })"));

    [Fact]
    public Task Reducing_between_two_blocks_is_an_error()
        => Verify(
            Edit(Loop, """
                        x = h[0].forward(x);
                        x = {|#0:HyperStreams.Reduce(x)|};
                        x = h[1].forward(x);
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamsCollapsedInsideStack).WithLocation(0).WithArguments("HyperStreams.Reduce(x)"));

    [Fact]
    public Task Reducing_inside_the_run_step_is_an_error()
        => Verify(
            Edit(Loop, """
                        x = HyperStreams.Run(x, h, (block, streams) => HyperStreams.Expand({|#0:HyperStreams.Reduce(block.forward(streams))|}, Block.HyperConnectionStreams));
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamsCollapsedInsideStack).WithLocation(0).WithArguments("HyperStreams.Reduce(block.forward(streams))"));

    [Fact]
    public Task A_run_step_with_a_block_body_is_followed_to_its_return()
        => Verify(
            Edit(Loop, """
                        x = HyperStreams.Run(x, h, (block, streams) =>
                        {
                            var y = block.forward(streams);
                            return {|#0:y.mean(new long[] { -2 })|};
                        });
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamsCollapsedInsideStack).WithLocation(0).WithArguments("y.mean(new long[] { -2 })"));

    [Fact]
    public Task A_single_stream_module_in_the_run_step_is_an_error()
        => Verify(
            Edit(Loop, """
                        x = HyperStreams.Run(x, h, (block, streams) => block.forward(ln_f.forward({|#0:streams|})));
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamTensorToSingleStreamModule).WithLocation(0).WithArguments("streams", "ln_f"));

    [Fact]
    public Task A_block_called_on_a_tensor_that_was_never_expanded_is_an_error()
        => Verify(
            Edit("        x = HyperStreams.Expand(x, Block.HyperConnectionStreams);\n", "")
                .Replace("HyperStreams.Run(x, h,", "HyperStreams.Run({|#0:x|}, h,"),
            expected: new DiagnosticResult(DiagnosticDescriptors.BlockInputNotExpanded).WithLocation(0).WithArguments("Block", "x"));

    [Fact]
    public Task The_final_norm_before_reduce_is_an_error()
        => Verify(
            Edit("""
                        x = HyperStreams.Reduce(x);
                        return lm_head.forward(ln_f.forward(x));
                """, """
                        x = ln_f.forward({|#0:x|});
                        return lm_head.forward(HyperStreams.Reduce(x));
                """),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamTensorToSingleStreamModule).WithLocation(0).WithArguments("x", "ln_f"));

    [Fact]
    public Task A_stream_tensor_used_outside_a_connection_inside_a_block_is_an_error()
        => Verify(
            Edit("        return x;\n    }\n}\n\npublic sealed class Gpt", "        return ln_2.forward({|#0:x|});\n    }\n}\n\npublic sealed class Gpt"),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamTensorToSingleStreamModule).WithLocation(0).WithArguments("x", "ln_2"));

    [Fact]
    public Task A_blocks_other_tensor_parameters_hold_one_stream()
    {
        // The converted masked layer, with its mask also going through a module outside any connection.
        const string site = "        var h = hc_attention.forward(";
        Assert.Contains(site, ResidualConnectionAnalyzerTests.MaskedLayerConverted);
        return Verify(ResidualConnectionAnalyzerTests.MaskedLayerConverted.Replace(site, "        var gate = ffn_norm.call(mask);\n" + site));
    }

    [Fact]
    public Task Stream_counts_that_disagree_are_an_error()
        => Verify(
            Edit("x = HyperStreams.Expand(x, Block.HyperConnectionStreams);", "x = HyperStreams.Expand(x, 2);")
                .Replace("x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));", "x = {|#0:HyperStreams.Run(x, h, (block, streams) => block.forward(streams))|};"),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamCountMismatch).WithLocation(0).WithArguments(2, "Block", 4));

    [Fact]
    public Task A_block_loop_is_checked_like_a_run()
        => Verify(
            Edit(Loop, """
                        foreach (var block in h)
                            x = {|#0:block.forward(x)|};
                """).Replace("x = HyperStreams.Expand(x, Block.HyperConnectionStreams);", "x = HyperStreams.Expand(x, 2);"),
            expected: new DiagnosticResult(DiagnosticDescriptors.StreamCountMismatch).WithLocation(0).WithArguments(2, "Block", 4));

    [Fact]
    public Task Stream_counts_follow_the_MSBuild_default_and_the_attribute()
        => Verify(
            Edit("x = HyperStreams.Expand(x, Block.HyperConnectionStreams);", "x = HyperStreams.Expand(x, 2);")
                .Replace("[HyperConnected]", "[HyperConnected(Streams = 8)]")
                .Replace("x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));", "x = {|#0:HyperStreams.Run(x, h, (block, streams) => block.forward(streams))|};"),
            "is_global = true\nbuild_property.MhcStreams = 2\n",
            new DiagnosticResult(DiagnosticDescriptors.StreamCountMismatch).WithLocation(0).WithArguments(2, "Block", 8));

    [Fact]
    public Task Stream_counts_from_the_MSBuild_default_agree()
        => Verify(
            Edit("x = HyperStreams.Expand(x, Block.HyperConnectionStreams);", "x = HyperStreams.Expand(x, 2);"),
            "is_global = true\nbuild_property.MhcStreams = 2\n");

    [Fact]
    public Task A_connection_width_that_differs_from_its_branch_is_an_error()
        => Verify(
            Edit("ln_1 = LayerNorm(c.NEmbd);", "ln_1 = LayerNorm(128);")
                .Replace("InitializeHyperConnections(channels: c.NEmbd);", "InitializeHyperConnections(channels: 64);")
                .Replace("ln_2 = LayerNorm(c.NEmbd);", "ln_2 = LayerNorm(64);")
                .Replace("x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));", "x = {|#0:hc_attn.forward(x, h => attn.forward(ln_1.forward(h)))|};"),
            expected: new DiagnosticResult(DiagnosticDescriptors.ChannelWidthMismatch).WithLocation(0).WithArguments("hc_attn", "64", "ln_1", "128"));
}
