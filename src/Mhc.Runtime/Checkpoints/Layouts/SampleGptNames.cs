using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>
/// Where the rest of a GPT named like the sample (<c>wte</c>, <c>wpe</c>, <c>h.{i}.ln_1</c>, <c>attn.c_attn</c>,
/// <c>attn.c_proj</c>, <c>ln_2</c>, <c>mlp.c_fc</c>, <c>mlp.c_proj</c>, <c>ln_f</c>, <c>lm_head</c>) goes in each
/// layout; docs/checkpoints.md has the tables and what has no counterpart.
/// </summary>
public static class SampleGptNames
{
    /// <summary>
    /// Megatron-LM's GPT (local, non-Transformer-Engine spec). Its fused QKV projection orders rows by head
    /// (q, k, v of head 0, then of head 1, …) where <c>c_attn</c> has all queries, then keys, then values;
    /// the rows are permuted both ways with <paramref name="heads"/>.
    /// </summary>
    public static LayoutNameTable Megatron(long heads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(heads, 1);
        return new LayoutNameTable()
            .Add("wte.weight", "embedding.word_embeddings.weight")
            .Add("wpe.weight", "embedding.position_embeddings.weight")
            .Add("h.{i}.ln_1.weight", "decoder.layers.{i}.input_layernorm.weight")
            .Add("h.{i}.ln_1.bias", "decoder.layers.{i}.input_layernorm.bias")
            .Add("h.{i}.attn.c_attn.weight", "decoder.layers.{i}.self_attention.linear_qkv.weight", t => QkvToHeadMajor(t, heads), t => QkvToPartMajor(t, heads))
            .Add("h.{i}.attn.c_attn.bias", "decoder.layers.{i}.self_attention.linear_qkv.bias", t => QkvToHeadMajor(t, heads), t => QkvToPartMajor(t, heads))
            .Add("h.{i}.attn.c_proj.weight", "decoder.layers.{i}.self_attention.linear_proj.weight")
            .Add("h.{i}.attn.c_proj.bias", "decoder.layers.{i}.self_attention.linear_proj.bias")
            .Add("h.{i}.ln_2.weight", "decoder.layers.{i}.pre_mlp_layernorm.weight")
            .Add("h.{i}.ln_2.bias", "decoder.layers.{i}.pre_mlp_layernorm.bias")
            .Add("h.{i}.mlp.c_fc.weight", "decoder.layers.{i}.mlp.linear_fc1.weight")
            .Add("h.{i}.mlp.c_fc.bias", "decoder.layers.{i}.mlp.linear_fc1.bias")
            .Add("h.{i}.mlp.c_proj.weight", "decoder.layers.{i}.mlp.linear_fc2.weight")
            .Add("h.{i}.mlp.c_proj.bias", "decoder.layers.{i}.mlp.linear_fc2.bias")
            .Add("ln_f.weight", "decoder.final_layernorm.weight")
            .Add("ln_f.bias", "decoder.final_layernorm.bias")
            .Add("lm_head.weight", "output_layer.weight");
    }

    /// <summary>
    /// DeepSeek-V4's names by role. Its attention (compressed, multi-latent) and SwiGLU MoE FFN have no
    /// counterpart of a plain GPT's, so the GPT's own tensors go under role names of their own
    /// (<c>attn.wqkv</c>, <c>ffn.w1</c>/<c>w2</c>, <c>pos_embed</c>) that DeepSeek's model does not load;
    /// the connection tensors, <c>embed</c>, the norms' weights and <c>head</c> are its own names.
    /// </summary>
    public static LayoutNameTable DeepSeekV4() => new LayoutNameTable()
        .Add("wte.weight", "embed.weight")
        .Add("wpe.weight", "pos_embed.weight")
        .Add("h.{i}.ln_1.weight", "layers.{i}.attn_norm.weight")
        .Add("h.{i}.ln_1.bias", "layers.{i}.attn_norm.bias")
        .Add("h.{i}.attn.c_attn.weight", "layers.{i}.attn.wqkv.weight")
        .Add("h.{i}.attn.c_attn.bias", "layers.{i}.attn.wqkv.bias")
        .Add("h.{i}.attn.c_proj.weight", "layers.{i}.attn.wo.weight")
        .Add("h.{i}.attn.c_proj.bias", "layers.{i}.attn.wo.bias")
        .Add("h.{i}.ln_2.weight", "layers.{i}.ffn_norm.weight")
        .Add("h.{i}.ln_2.bias", "layers.{i}.ffn_norm.bias")
        .Add("h.{i}.mlp.c_fc.weight", "layers.{i}.ffn.w1.weight")
        .Add("h.{i}.mlp.c_fc.bias", "layers.{i}.ffn.w1.bias")
        .Add("h.{i}.mlp.c_proj.weight", "layers.{i}.ffn.w2.weight")
        .Add("h.{i}.mlp.c_proj.bias", "layers.{i}.ffn.w2.bias")
        .Add("ln_f.weight", "norm.weight")
        .Add("ln_f.bias", "norm.bias")
        .Add("lm_head.weight", "head.weight");

    // [3·H·d, …] as (part, head, d) → (head, part, d), and back. Both are pure permutations of rows.
    private static Tensor QkvToHeadMajor(Tensor t, long heads) => Permute(t, 3, heads, heads);

    private static Tensor QkvToPartMajor(Tensor t, long heads) => Permute(t, heads, 3, heads);

    private static Tensor Permute(Tensor t, long outer, long inner, long heads)
    {
        if (t.shape[0] % (outer * inner) != 0)
            throw new CheckpointException($"A fused QKV tensor of {t.shape[0]} rows does not split into 3 parts × {heads} heads; pass the model's head count.");
        var rest = t.shape.Skip(1).ToArray();
        long d = t.shape[0] / (outer * inner);
        return t.reshape([outer, inner, d, .. rest]).transpose(0, 1).reshape(t.shape).contiguous();
    }
}
