namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>Small TorchSharp models the rule tests vary one method at a time.</summary>
internal static class Sources
{
    /// <summary>A model that stacks <c>Block</c>s: without it no block is convertible (MHC0002).</summary>
    public const string Stack = """

        public sealed class Model : Module<Tensor, Tensor>
        {
            private readonly ModuleList<Block> blocks;

            public Model(long d) : base(nameof(Model))
            {
                blocks = new ModuleList<Block>(new Block(d), new Block(d));
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                foreach (var block in blocks)
                    x = block.forward(x);
                return x;
            }
        }
        """;

    /// <summary>A pre-norm block with the given forward body (statements, or "=> expr;").</summary>
    public static string Block(string forward, string extraMembers = "") => TestSetup.Usings + $$"""
        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln_1;
            private readonly LayerNorm ln_2;
            private readonly Linear attn;
            private readonly Linear mlp;
            private readonly Dropout drop;
            private readonly Parameter gamma;
            {{extraMembers}}

            public Block(long d) : base(nameof(Block))
            {
                ln_1 = LayerNorm(d);
                ln_2 = LayerNorm(d);
                attn = Linear(d, d);
                mlp = Linear(d, d);
                drop = Dropout(0.1);
                gamma = Parameter(ones(d));
                RegisterComponents();
            }

            public override Tensor forward(Tensor x){{(forward.TrimStart().StartsWith("=>") ? " " + forward.Trim() : "\n    {\n" + Indent(forward) + "\n    }")}}
        }
        """ + Stack;

    private static string Indent(string body)
        => string.Join("\n", body.Trim().Split('\n').Select(l => "        " + l.Trim()));
}
