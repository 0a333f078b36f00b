using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Gpt.HyperConnected;

/// <summary>Multi-head causal self-attention.</summary>
public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear c_attn, c_proj;
    private readonly Dropout resid_dropout;
    private readonly long n_head, n_embd;
    private readonly double dropout;

    public CausalSelfAttention(GptConfig config) : base(nameof(CausalSelfAttention))
    {
        n_head = config.NHead;
        n_embd = config.NEmbd;
        dropout = config.Dropout;
        c_attn = Linear(config.NEmbd, 3 * config.NEmbd);
        c_proj = Linear(config.NEmbd, config.NEmbd);
        resid_dropout = Dropout(config.Dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var qkv = c_attn.forward(x).split(n_embd, dim: 2);
        var q = qkv[0].view(b, t, n_head, c / n_head).transpose(1, 2);
        var k = qkv[1].view(b, t, n_head, c / n_head).transpose(1, 2);
        var v = qkv[2].view(b, t, n_head, c / n_head).transpose(1, 2);
        // Decoding: the new positions attend to every cached one and causally among themselves.
        var cache = KeyValueCache.Active;
        long past = cache?.Length ?? 0;
        if (cache is not null)
            (k, v) = cache.Append(this, k, v);
        var y = past == 0
            ? functional.scaled_dot_product_attention(q, k, v, p: training ? dropout : 0.0, is_casual: true)
            : functional.scaled_dot_product_attention(q, k, v, attn_mask: ones(t, past + t, ScalarType.Bool, x.device).tril(past),
                p: training ? dropout : 0.0);
        y = y.transpose(1, 2).contiguous().view(b, t, c);
        return resid_dropout.forward(c_proj.forward(y)).MoveToOuterDisposeScope();
    }
}
