namespace Mhc.Tool.Tests;

/// <summary>
/// <c>--library</c> and <c>--channels</c>: the analyzers' options, set for one run of <c>check</c> or <c>convert</c> without
/// writing them anywhere.
/// </summary>
public class AnalysisOptionTests
{
    /// <summary>A block library: two blocks no model of the project stacks; one tells its width, one does not.</summary>
    private const string Library = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        namespace Sample;

        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm norm;
            private readonly Linear ff;

            public Block(long width) : base(nameof(Block))
            {
                norm = LayerNorm(width);
                ff = Linear(width, width);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => x + ff.forward(norm.forward(x));
        }

        public sealed class Wrapped : Module<Tensor, Tensor>
        {
            private readonly Module<Tensor, Tensor> fn;

            public Wrapped(Module<Tensor, Tensor> fn, long width) : base(nameof(Wrapped))
            {
                this.fn = fn;
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => x + fn.forward(x);
        }
        """;

    [Fact]
    public async Task WithoutOptionsNeitherBlockOfALibraryConvertsAndEachSaysWhy()
    {
        using var project = new SampleProject(Library);
        var before = project.Snapshot();

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "-q");

        Assert.True(code == ExitCodes.Success, console.ErrorOutput);
        Assert.Contains("No convertible residual connection found: nothing to convert.", console.Output);
        Assert.Contains("Skipped 2 site(s):", console.Output);
        Assert.Contains("Model.cs(20,49): MHC0002: Residual connection cannot be converted to a hyper-connection: no model runs 'Block' in a block stack", console.Output);
        Assert.Contains("Model.cs(33,49): MHC0002: Residual connection cannot be converted to a hyper-connection: the channel width of 'Wrapped' is not known: 'fn' is not built here from a width this analysis can follow; name it with 'mhc_channels.Wrapped = <width expression>' in .editorconfig or 'dotnet mhc convert --channels Wrapped=<width expression>'", console.Output);
        Assert.Equal(before, project.Snapshot());
    }

    [Fact]
    public async Task LibraryAndChannelsConvertBothBlocksAndWriteNoOptionFile()
    {
        using var project = new SampleProject(Library);

        var (code, console) = await TestConsole.RunAsync("convert", project.ProjectPath, "--library", "--channels", "Wrapped=width", "-q");

        Assert.True(code == ExitCodes.Success, console.ErrorOutput + console.Output);
        Assert.Contains("Converted 2 residual connection(s) in 1 file(s):", console.Output);
        var converted = File.ReadAllText(project.SourcePath);
        Assert.Contains("    public override Tensor forward(Tensor x) => hc_ff.forward(x, h => ff.forward(norm.forward(h)));", converted);
        Assert.Contains("    public override Tensor forward(Tensor x) => hc_fn.forward(x, h => fn.forward(h));", converted);
        Assert.Contains("        this.fn = fn;\n        InitializeHyperConnections(channels: width);\n        RegisterComponents();", converted);
        Assert.DoesNotContain("HyperStreams.Expand", converted);
        Assert.Empty(Directory.GetFiles(project.Directory, "*.globalconfig", SearchOption.AllDirectories));
        Assert.DoesNotContain("MhcLibrary", File.ReadAllText(project.ProjectPath));
    }

    [Fact]
    public async Task CheckWithTheLibraryOptionReportsTheBlockAsConvertible()
    {
        using var project = new SampleProject(Library);

        var (code, console) = await TestConsole.RunAsync("check", project.ProjectPath, "--library", "-q");

        Assert.Equal(ExitCodes.Success, code);
        Assert.Contains("Model.cs(20,49): info MHC0001: Residual connection around 'ff' can be converted to a manifold-constrained hyper-connection", console.Output);
    }

    [Theory]
    [InlineData("Wrapped")]
    [InlineData("=width")]
    [InlineData("Wrapped=")]
    [InlineData("not a name=width")]
    public async Task AMalformedChannelsValueIsTheUsersInputError(string value)
    {
        var (code, console) = await TestConsole.RunAsync("convert", "does-not-matter.csproj", "--channels", value);

        Assert.Equal(ExitCodes.InvalidInput, code);
        Assert.Contains($"error: --channels '{value}' is not <Block>=<width expression>", console.ErrorOutput);
    }
}
