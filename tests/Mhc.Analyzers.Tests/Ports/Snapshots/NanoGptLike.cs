using System;
using System.Linq;
using Mhc.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

namespace Ports.NanoGptLike;

public class GPTConfig
{
    public int block_size = 16;
    public int vocab_size = 32;
    public int n_layer = 2;
    public int n_head = 2;
    public int n_embd = 16;
    public double dropout = 0.0;
    public bool bias = true;
}

/// <summary>LayerNorm with an optional bias; shadows TorchSharp's LayerNorm inside this namespace.</summary>
public class LayerNorm : Module<Tensor, Tensor>
{
    private readonly Parameter weight;
    private readonly Parameter? bias;

    public LayerNorm(int ndim, bool bias) : base("LayerNorm")
    {
        weight = Parameter(ones(ndim));
        this.bias = bias ? Parameter(zeros(ndim)) : null;
        RegisterComponents();
    }

    public override Tensor forward(Tensor input) => F.layer_norm(input, weight.shape, weight, bias, 1e-5);
}

public partial class GPT : Module<Tensor, Tensor?, (Tensor logits, Tensor? loss)>
{
    public class CausalSelfAttention : Module<Tensor, Tensor>
    {
        private readonly Linear c_attn, c_proj;
        private readonly Dropout attn_dropout, resid_dropout;
        private readonly int n_head, n_embd;
        private readonly double dropout;

        public CausalSelfAttention(int n_embd, int n_head, bool bias, double dropout) : base(nameof(CausalSelfAttention))
        {
            c_attn = Linear(n_embd, 3 * n_embd, hasBias: bias);
            c_proj = Linear(n_embd, n_embd, hasBias: bias);
            attn_dropout = Dropout(dropout);
            resid_dropout = Dropout(dropout);
            this.n_head = n_head;
            this.n_embd = n_embd;
            this.dropout = dropout;
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var (B, T, C) = (x.size(0), x.size(1), x.size(2));
            var qkv = c_attn.call(x).split(n_embd, dim: 2);
            var q = qkv[0].view(B, T, n_head, C / n_head).transpose(1, 2);
            var k = qkv[1].view(B, T, n_head, C / n_head).transpose(1, 2);
            var v = qkv[2].view(B, T, n_head, C / n_head).transpose(1, 2);
            var y = F.scaled_dot_product_attention(q, k, v, p: training ? dropout : 0, is_casual: true);
            y = y.transpose(1, 2).contiguous().view(B, T, C);
            return resid_dropout.call(c_proj.call(y));
        }
    }

    public class MLP : Module<Tensor, Tensor>
    {
        private readonly Linear c_fc, c_proj;
        private readonly Dropout dropout;

        public MLP(int n_embd, bool bias, double dropout) : base(nameof(MLP))
        {
            c_fc = Linear(n_embd, 4 * n_embd, hasBias: bias);
            c_proj = Linear(4 * n_embd, n_embd, hasBias: bias);
            this.dropout = Dropout(dropout);
            RegisterComponents();
        }

        private static Tensor NewGelu(Tensor x)
        {
            const double c = 0.7978845608028654;   // sqrt(2 / pi)
            return 0.5 * x * (1 + tanh(c * (x + 0.044715 * pow(x, 3))));   // not residual: GELU tanh approximation
        }

        public override Tensor forward(Tensor x) => dropout.call(c_proj.call(NewGelu(c_fc.call(x))));
    }

    [HyperConnected]
    public partial class Block : Module<Tensor, Tensor>
    {
        private readonly LayerNorm ln_1, ln_2;
        private readonly CausalSelfAttention attn;
        private readonly MLP mlp;

        public Block(GPTConfig config) : this(config.n_embd, config.n_head, config.bias)
        {
        }

        public Block(int n_embd, int n_head, bool bias, double dropout = 0.0) : base(nameof(Block))
        {
            if (n_embd % n_head != 0) throw new ArgumentException("n_embd must be a multiple of n_head");
            ln_1 = new LayerNorm(n_embd, bias);
            attn = new CausalSelfAttention(n_embd, n_head, bias, dropout);
            ln_2 = new LayerNorm(n_embd, bias);
            mlp = new MLP(n_embd, bias, dropout);
            InitializeHyperConnections(channels: n_embd);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            x = hc_attn.forward(x, h => attn.call(ln_1.call(h)));   // expect: MHC0001
            x = hc_mlp.forward(x, h => mlp.call(ln_2.call(h)));   // expect: MHC0001
            return x;
        }
    }

    private readonly GPTConfig config;
    private readonly Embedding wte, wpe;
    private readonly Dropout drop;
    private readonly ModuleList<Block> h;
    private readonly LayerNorm ln_f;
    private readonly Linear lm_head;

    public GPT(GPTConfig config) : base(nameof(GPT))
    {
        this.config = config;
        wte = Embedding(config.vocab_size, config.n_embd);
        wpe = Embedding(config.block_size, config.n_embd);
        drop = Dropout(config.dropout);
        h = new ModuleList<Block>((from _ in Enumerable.Range(0, config.n_layer) select new Block(config)).ToArray());
        ln_f = new LayerNorm(config.n_embd, config.bias);
        lm_head = Linear(config.n_embd, config.vocab_size, hasBias: false);
        RegisterComponents();
        HyperConnections.AssignLayerIndices(this);

        foreach (var (_, module) in named_modules())
        {
            if (module is Linear linear)
            {
                init.normal_(linear.weight, 0.0, 0.02);
                if (linear.bias is not null) init.zeros_(linear.bias);
            }
            else if (module is Embedding embedding)
            {
                init.normal_(embedding.weight, 0.0, 0.02);
            }
        }

        foreach (var (name, parameter) in named_parameters())
        {
            if (name.EndsWith("c_proj.weight", StringComparison.Ordinal))
                init.normal_(parameter, 0.0, 0.02 / Math.Sqrt(2 * config.n_layer));
        }
    }

    public override (Tensor logits, Tensor? loss) forward(Tensor idx, Tensor? targets)
    {
        var t = idx.size(1);
        if (t > config.block_size) throw new ArgumentException($"Cannot forward sequence of length {t}, block size is only {config.block_size}");
        var pos = arange(0, t, dtype: ScalarType.Int64);

        var tok_emb = wte.call(idx);
        var pos_emb = wpe.call(pos);
        var x = drop.call(tok_emb + pos_emb);   // not residual: token and position embeddings
        x = HyperStreams.Expand(x, Block.HyperConnectionStreams);
        x = HyperStreams.Run(x, h, (block, streams) => block.call(streams));
        x = HyperStreams.Reduce(x);
        x = ln_f.call(x);

        var logits = lm_head.call(x);
        Tensor? loss = targets is null ? null : F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1));
        return (logits, loss);
    }
}

public static class Harness
{
    public static Module Create() => new GPT(new GPTConfig());

    public static Tensor Run(Module model)
    {
        var gpt = (GPT)model;
        using var idx = arange(0, 16, dtype: ScalarType.Int64).view(2, 8).mul(7).remainder(32);
        using var targets = idx.roll(-1, 1);
        var (logits, loss) = gpt.forward(idx, targets);
        return cat(new[] { logits.flatten(), loss!.reshape(1) }, 0);
    }
}
