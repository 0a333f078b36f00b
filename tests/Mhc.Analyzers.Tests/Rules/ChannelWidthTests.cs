using Mhc.Analyzers.Tests.Infrastructure;
using Mhc.Analyzers.Tests.Ports;

namespace Mhc.Analyzers.Tests.Rules;

/// <summary>
/// The width a converted block passes to <c>InitializeHyperConnections</c>, read off how it builds the first module
/// a branch applies to the stream: TorchSharp factories, a project's own norms and attention modules followed into
/// their constructors, config objects, constructor chains, locals of the constructor.
/// </summary>
public class ChannelWidthTests
{
    /// <summary>A block built by <paramref name="constructor"/> (parameters and body) whose one site is <c>x + attn(first(x))</c>.</summary>
    private static string Block(string constructor, string members, string branch = "attn.forward(first.forward(x))") => TestSetup.Usings + $$"""
        public sealed class Config { public long HiddenSize { get; init; } = 8; public long Dim = 8; public const long Fixed = 8; }

        public sealed class OwnNorm : Module<Tensor, Tensor>
        {
            private readonly Parameter weight;
            public OwnNorm(long hidden, double eps = 1e-6) : base(nameof(OwnNorm)) { weight = Parameter(torch.ones(hidden)); RegisterComponents(); }
            public override Tensor forward(Tensor x) => x * weight;
        }

        public sealed class ArgsNorm : Module<Tensor, Tensor>
        {
            private readonly Parameter weight;
            public ArgsNorm(Config args) : base(nameof(ArgsNorm)) { var d = args.Dim; weight = Parameter(torch.ones(d)); RegisterComponents(); }
            public override Tensor forward(Tensor x) => x * weight;
        }

        public sealed class OwnAttention : Module<Tensor, Tensor>
        {
            private readonly Linear qkv, proj;
            public OwnAttention(Config config) : base(nameof(OwnAttention)) { qkv = Linear(config.HiddenSize, config.HiddenSize); proj = Linear(config.HiddenSize, config.HiddenSize); RegisterComponents(); }
            public override Tensor forward(Tensor x) => proj.forward(qkv.forward(x));
        }

        public sealed class Block : Module<Tensor, Tensor>
        {
            {{members}}
            private readonly Linear attn;

            {{constructor}}

            public override Tensor forward(Tensor x) => x + {{branch}};
        }

        public sealed class Model : Module<Tensor, Tensor>
        {
            private readonly ModuleList<Block> blocks = new ModuleList<Block>();
            public Model() : base(nameof(Model)) { RegisterComponents(); }
            public override Tensor forward(Tensor x) { foreach (var b in blocks) x = b.forward(x); return x; }
        }
        """;

    [Theory]
    [InlineData("public Block(long d) : base(\"b\") { first = LayerNorm(d); attn = Linear(d, d); RegisterComponents(); }", "private readonly LayerNorm first;", "d")]
    [InlineData("public Block(long d) : base(\"b\") { first = LayerNorm(new long[] { d }, eps: 1e-5); attn = Linear(d, d); RegisterComponents(); }", "private readonly LayerNorm first;", "d")]
    [InlineData("public Block(Config config) : base(\"b\") { first = new OwnNorm(config.HiddenSize, eps: 1e-5); attn = Linear(config.HiddenSize, config.HiddenSize); RegisterComponents(); }", "private readonly OwnNorm first;", "config.HiddenSize")]
    [InlineData("public Block(Config args) : base(\"b\") { first = new ArgsNorm(args); attn = Linear(args.Dim, args.Dim); RegisterComponents(); }", "private readonly ArgsNorm first;", "args.Dim")]
    [InlineData("public Block(Config c) : this(c.HiddenSize) { }\n    public Block(long width) : base(\"b\") { first = new OwnNorm(width); attn = Linear(width, width); RegisterComponents(); }", "private readonly OwnNorm first;", "width")]
    [InlineData("public Block(Config c) : base(\"b\") { var h = c.HiddenSize; first = LayerNorm(h); attn = Linear(h, h); RegisterComponents(); }", "private readonly LayerNorm first;", "h")]
    [InlineData("public Block(Config c) : base(\"b\") { if (c.Dim > 0) { var h = c.HiddenSize; first = LayerNorm(h); } else { first = LayerNorm(1); } attn = Linear(c.Dim, c.Dim); RegisterComponents(); }", "private readonly LayerNorm first;", "c.HiddenSize")]
    [InlineData("public Block() : base(\"b\") { attn = Linear(Config.Fixed, Config.Fixed); RegisterComponents(); }", "private readonly LayerNorm first = LayerNorm(Config.Fixed);", "Config.Fixed")]
    public async Task The_width_comes_from_the_module_the_branch_applies_first(string constructor, string members, string width)
    {
        var converted = (await PortConversion.ConvertAsync(Block(constructor, members))).Text;
        Assert.Contains($"InitializeHyperConnections(channels: {width});", converted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_branch_without_a_norm_takes_the_width_of_its_first_modules_first_Linear()
    {
        var converted = (await PortConversion.ConvertAsync(Block(
            "public Block(Config config) : base(\"b\") { first = new OwnAttention(config); attn = Linear(config.HiddenSize, config.HiddenSize); RegisterComponents(); }",
            "private readonly OwnAttention first;"))).Text;
        Assert.Contains("InitializeHyperConnections(channels: config.HiddenSize);", converted, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_constructor_without_RegisterComponents_creates_the_connections_at_its_end()
    {
        var converted = (await PortConversion.ConvertAsync(Block(
            "public Block(long d) : base(\"b\")\n    {\n        first = LayerNorm(d);\n        attn = Linear(d, d);\n    }",
            "private readonly LayerNorm first;"))).Text;
        Assert.Contains("        attn = Linear(d, d);\n        InitializeHyperConnections(channels: d);\n    }", converted, StringComparison.Ordinal);
    }
}
