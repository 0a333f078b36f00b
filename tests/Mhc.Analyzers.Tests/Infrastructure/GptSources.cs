using System.Text.RegularExpressions;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// A small GPT written as ordinary TorchSharp code, before and after conversion. The code fix tests compare
/// against <see cref="Converted"/>, the stream-shape tests break it, and the end-to-end test runs both.
/// </summary>
internal static class GptSources
{
    private const string Header = "using System;\nusing System.Linq;\n" + TestSetup.Usings + "namespace Demo;\n\n";

    private const string ConvertedHeader = "using System;\nusing System.Linq;\nusing Mhc.Runtime;\n" + TestSetup.Usings + "namespace Demo;\n\n";

    /// <summary>Config, attention and MLP: untouched by the conversion.</summary>
    public const string Modules = """
        public sealed class Config
        {
            public long NEmbd { get; init; } = 16;
            public long NHead { get; init; } = 2;
            public int NLayer { get; init; } = 3;
            public long Vocab { get; init; } = 32;
            public long BlockSize { get; init; } = 8;
        }

        public sealed class CausalSelfAttention : Module<Tensor, Tensor>
        {
            private readonly Linear c_attn, c_proj;
            private readonly long nHead, nEmbd;

            public CausalSelfAttention(Config c) : base(nameof(CausalSelfAttention))
            {
                nHead = c.NHead;
                nEmbd = c.NEmbd;
                c_attn = Linear(c.NEmbd, 3 * c.NEmbd);
                c_proj = Linear(c.NEmbd, c.NEmbd);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                var (b, t, ch) = (x.shape[0], x.shape[1], x.shape[2]);
                var qkv = c_attn.forward(x).split(nEmbd, dim: 2);
                var q = qkv[0].view(b, t, nHead, ch / nHead).transpose(1, 2);
                var k = qkv[1].view(b, t, nHead, ch / nHead).transpose(1, 2);
                var v = qkv[2].view(b, t, nHead, ch / nHead).transpose(1, 2);
                var y = functional.scaled_dot_product_attention(q, k, v, is_casual: true);
                return c_proj.forward(y.transpose(1, 2).contiguous().view(b, t, ch));
            }
        }

        public sealed class Mlp : Module<Tensor, Tensor>
        {
            private readonly Linear c_fc, c_proj;

            public Mlp(Config c) : base(nameof(Mlp))
            {
                c_fc = Linear(c.NEmbd, 4 * c.NEmbd);
                c_proj = Linear(4 * c.NEmbd, c.NEmbd);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x) => c_proj.forward(functional.gelu(c_fc.forward(x)));
        }
        """;

    /// <summary>The original model; markup <c>{|#0:...|}</c> marks the two residual sites.</summary>
    public const string Original = Header + Modules + "\n" + """
        /// <summary>A pre-norm transformer block.</summary>
        public sealed class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln_1, ln_2;
            private readonly CausalSelfAttention attn;
            private readonly Mlp mlp;

            public Block(Config c) : base(nameof(Block))
            {
                ln_1 = LayerNorm(c.NEmbd); attn = new(c); ln_2 = LayerNorm(c.NEmbd); mlp = new(c);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                x = {|#0:x + attn.forward(ln_1.forward(x))|};   // attention
                x = {|#1:x + mlp.forward(ln_2.forward(x))|};    // feed-forward
                return x;
            }
        }

        public sealed class Gpt : Module<Tensor, Tensor>
        {
            private readonly Embedding wte, wpe;
            private readonly ModuleList<Block> h;
            private readonly LayerNorm ln_f;
            private readonly Linear lm_head;

            public Gpt(Config c) : base(nameof(Gpt))
            {
                wte = Embedding(c.Vocab, c.NEmbd);
                wpe = Embedding(c.BlockSize, c.NEmbd);
                h = new ModuleList<Block>(Enumerable.Range(0, c.NLayer).Select(_ => new Block(c)).ToArray());
                ln_f = LayerNorm(c.NEmbd);
                lm_head = Linear(c.NEmbd, c.Vocab, hasBias: false);
                RegisterComponents();
            }

            public override Tensor forward(Tensor idx)
            {
                var pos = arange(idx.shape[1], dtype: ScalarType.Int64);
                var x = wte.forward(idx) + wpe.forward(pos);   // embeddings: not a residual connection
                foreach (var block in h)
                    x = block.forward(x);
                return lm_head.forward(ln_f.forward(x));
            }

            public static Module<Tensor, Tensor> Create() => new Gpt(new Config());
        }
        """;

    /// <summary>What the code fix makes of <see cref="Original"/>.</summary>
    public const string Converted = ConvertedHeader + Modules + "\n" + """
        /// <summary>A pre-norm transformer block.</summary>
        [HyperConnected]
        public sealed partial class Block : Module<Tensor, Tensor>
        {
            private readonly LayerNorm ln_1, ln_2;
            private readonly CausalSelfAttention attn;
            private readonly Mlp mlp;

            public Block(Config c) : base(nameof(Block))
            {
                ln_1 = LayerNorm(c.NEmbd); attn = new(c); ln_2 = LayerNorm(c.NEmbd); mlp = new(c);
                InitializeHyperConnections(channels: c.NEmbd);
                RegisterComponents();
            }

            public override Tensor forward(Tensor x)
            {
                x = hc_attn.forward(x, h => attn.forward(ln_1.forward(h)));   // attention
                x = hc_mlp.forward(x, h => mlp.forward(ln_2.forward(h)));    // feed-forward
                return x;
            }
        }

        public sealed class Gpt : Module<Tensor, Tensor>
        {
            private readonly Embedding wte, wpe;
            private readonly ModuleList<Block> h;
            private readonly LayerNorm ln_f;
            private readonly Linear lm_head;

            public Gpt(Config c) : base(nameof(Gpt))
            {
                wte = Embedding(c.Vocab, c.NEmbd);
                wpe = Embedding(c.BlockSize, c.NEmbd);
                h = new ModuleList<Block>(Enumerable.Range(0, c.NLayer).Select(_ => new Block(c)).ToArray());
                ln_f = LayerNorm(c.NEmbd);
                lm_head = Linear(c.NEmbd, c.Vocab, hasBias: false);
                RegisterComponents();
                HyperConnections.AssignLayerIndices(this);
            }

            public override Tensor forward(Tensor idx)
            {
                var pos = arange(idx.shape[1], dtype: ScalarType.Int64);
                var x = wte.forward(idx) + wpe.forward(pos);   // embeddings: not a residual connection
                x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
                x = HyperStreams.Run(x, h, (block, streams) => block.forward(streams));
                x = HyperStreams.Reduce(x);
                return lm_head.forward(ln_f.forward(x));
            }

            public static Module<Tensor, Tensor> Create() => new Gpt(new Config());
        }
        """;

    /// <summary>Source without the diagnostic markup, for compiling outside the Roslyn test harness.</summary>
    public static string WithoutMarkup(string source) => Regex.Replace(source, @"\{\|#\d+:(.*?)\|\}", "$1");
}
