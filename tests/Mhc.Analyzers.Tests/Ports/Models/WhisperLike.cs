using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Ports.WhisperLike;

public sealed class MultiHeadAttention : Module<Tensor, Tensor?, Tensor?, (Tensor, Tensor?)>
{
    private readonly int n_head;
    private readonly Linear query, key, value, @out;

    public MultiHeadAttention(int n_state, int n_head) : base(nameof(MultiHeadAttention))
    {
        this.n_head = n_head;
        query = Linear(n_state, n_state);
        key = Linear(n_state, n_state, hasBias: false);
        value = Linear(n_state, n_state);
        @out = Linear(n_state, n_state);
        RegisterComponents();
    }

    public override (Tensor, Tensor?) forward(Tensor x, Tensor? xa, Tensor? mask)
    {
        var src = xa ?? x;
        var q = query.forward(x);
        var k = key.forward(src);
        var v = value.forward(src);
        var (b, t, c) = (x.shape[0], x.shape[1], x.shape[2]);
        var s = src.shape[1];
        q = q.view(b, t, n_head, -1).permute(0, 2, 1, 3);
        k = k.view(b, s, n_head, -1).permute(0, 2, 1, 3);
        v = v.view(b, s, n_head, -1).permute(0, 2, 1, 3);
        var qk = q.matmul(k.transpose(-1, -2)) / Math.Sqrt(c / n_head);
        if (mask is not null)
            qk = qk + mask[..(int)t, ..(int)t];   // not residual: a mask added to scores
        var w = functional.softmax(qk, -1);
        var o = w.matmul(v).permute(0, 2, 1, 3).flatten(2);
        return (@out.forward(o), qk.detach());
    }
}

public sealed class ResidualAttentionBlock : Module<Tensor, Tensor?, Tensor?, Tensor>
{
    private readonly MultiHeadAttention attn;
    private readonly LayerNorm attn_ln;
    private readonly MultiHeadAttention? cross_attn;
    private readonly LayerNorm? cross_attn_ln;
    private readonly Sequential mlp;
    private readonly LayerNorm mlp_ln;

    public ResidualAttentionBlock(int n_state, int n_head, bool cross_attention = false) : base(nameof(ResidualAttentionBlock))
    {
        attn = new MultiHeadAttention(n_state, n_head);
        attn_ln = LayerNorm(n_state);
        if (cross_attention)
        {
            cross_attn = new MultiHeadAttention(n_state, n_head);
            cross_attn_ln = LayerNorm(n_state);
        }
        var n_mlp = n_state * 4;
        mlp = Sequential(Linear(n_state, n_mlp), GELU(), Linear(n_mlp, n_state));
        mlp_ln = LayerNorm(n_state);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor? xa, Tensor? mask)
    {
        x = x + attn.forward(attn_ln.forward(x), null, mask).Item1;   // expect: MHC0001
        if (cross_attn is not null && cross_attn_ln is not null)
            x = x + cross_attn.forward(cross_attn_ln.forward(x), xa, null).Item1;   // expect: MHC0001
        x = x + mlp.forward(mlp_ln.forward(x));   // expect: MHC0001
        return x;
    }
}

public sealed class AudioEncoder : Module<Tensor, Tensor>
{
    private readonly Conv1d conv1, conv2;
    private readonly Parameter positional_embedding;
    private readonly ModuleList<ResidualAttentionBlock> blocks;
    private readonly LayerNorm ln_post;

    public AudioEncoder(int n_mels, int n_ctx, int n_state, int n_head, int n_layer) : base(nameof(AudioEncoder))
    {
        conv1 = Conv1d(n_mels, n_state, 3, padding: 1);
        conv2 = Conv1d(n_state, n_state, 3, stride: 2, padding: 1);
        positional_embedding = Parameter(torch.randn(n_ctx, n_state) * 0.02, requires_grad: false);
        blocks = new ModuleList<ResidualAttentionBlock>();
        for (int i = 0; i < n_layer; i++)
            blocks.Add(new ResidualAttentionBlock(n_state, n_head));
        ln_post = LayerNorm(n_state);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        x = functional.gelu(conv1.forward(x));
        x = functional.gelu(conv2.forward(x));
        x = x.permute(0, 2, 1);
        x = (x + positional_embedding[..(int)x.shape[1]]).to(x.dtype);   // not residual: position embedding
        foreach (var block in blocks)
            x = block.forward(x, null, null);
        x = ln_post.forward(x);
        return x;
    }
}

/// <summary>Encoder and decoder; the decoder's blocks have cross-attention, the encoder's do not.</summary>
public sealed class Whisper : Module<Tensor, Tensor, Tensor>
{
    private readonly AudioEncoder encoder;
    private readonly TextDecoder decoder;

    public Whisper() : base(nameof(Whisper))
    {
        encoder = new AudioEncoder(n_mels: 8, n_ctx: 6, n_state: 16, n_head: 2, n_layer: 2);
        decoder = new TextDecoder(n_vocab: 24, n_ctx: 8, n_state: 16, n_head: 2, n_layer: 2);
        RegisterComponents();
    }

    public override Tensor forward(Tensor mel, Tensor tokens) => decoder.forward(tokens, encoder.forward(mel));
}

public sealed class TextDecoder : Module<Tensor, Tensor, Tensor>
{
    private readonly Embedding token_embedding;
    private readonly Parameter positional_embedding;
    private readonly ModuleList<ResidualAttentionBlock> blocks;
    private readonly LayerNorm ln;
    private readonly Tensor mask;

    public TextDecoder(int n_vocab, int n_ctx, int n_state, int n_head, int n_layer) : base(nameof(TextDecoder))
    {
        token_embedding = Embedding(n_vocab, n_state);
        positional_embedding = Parameter(torch.zeros(n_ctx, n_state));
        blocks = new ModuleList<ResidualAttentionBlock>(
            Enumerable.Range(0, n_layer).Select(_ => new ResidualAttentionBlock(n_state, n_head, cross_attention: true)).ToArray());
        ln = LayerNorm(n_state);
        mask = torch.full(n_ctx, n_ctx, float.NegativeInfinity).triu_(1);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor xa)
    {
        var t = x.shape[^1];
        x = token_embedding.forward(x) + positional_embedding[..(int)t];   // not residual: position embedding
        foreach (var block in blocks)
        {
            x = block.forward(x, xa, mask);
        }
        x = ln.forward(x);
        return x.matmul(token_embedding.weight!.transpose(0, 1)).@float();
    }
}

public static class Harness
{
    public static Module Create() => new Whisper();

    public static Tensor Run(Module model)
    {
        var whisper = (Whisper)model;
        using var mel = arange(0, 2 * 8 * 12, dtype: ScalarType.Float32).view(2, 8, 12).div(50).sin();
        using var tokens = arange(0, 10, dtype: ScalarType.Int64).view(2, 5).mul(3).remainder(24);
        return whisper.forward(mel, tokens).flatten();
    }
}
