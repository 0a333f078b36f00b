using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>
/// Megatron-LM's <c>HyperConnectionModule</c> (megatron/core/transformer/hyper_connection.py), one per
/// sublayer: <c>decoder.layers.{i}.self_attention_hyper_connection.</c> and <c>….mlp_hyper_connection.</c>,
/// each with <c>mapping_proj.weight</c> [n²+2n, n·C] (rows: pre n, post n, res n² row-major; the
/// <c>nn.Linear</c> weight, so our φ transposed), <c>bias</c> [n²+2n] and <c>alpha_pre</c>,
/// <c>alpha_post</c>, <c>alpha_res</c> [1] each, float32. It has no learned final reduce.
/// </summary>
public sealed class MegatronLayout(LayoutNameTable? otherNames = null) : CheckpointLayout(otherNames)
{
    public override string Name => "Megatron-LM";

    private static string Prefix(int layer, bool attention) =>
        $"decoder.layers.{layer}.{(attention ? "self_attention" : "mlp")}_hyper_connection.";

    protected override void ExportConnection(int layer, bool attention, Tensor phi, Tensor bias, Tensor alpha, IDictionary<string, Tensor> into)
    {
        var prefix = Prefix(layer, attention);
        into[prefix + "mapping_proj.weight"] = phi.t().contiguous();
        into[prefix + "bias"] = bias.clone();
        into[prefix + "alpha_pre"] = alpha[TensorIndex.Slice(0, 1)].clone();
        into[prefix + "alpha_post"] = alpha[TensorIndex.Slice(1, 2)].clone();
        into[prefix + "alpha_res"] = alpha[TensorIndex.Slice(2, 3)].clone();
    }

    protected override (Tensor Phi, Tensor Bias, Tensor Alpha) ImportConnection(int layer, bool attention, int streams, long channels, LayoutReader reader)
    {
        var prefix = Prefix(layer, attention);
        long outputs = (long)streams * streams + 2L * streams;
        var weight = reader.Take(prefix + "mapping_proj.weight", outputs, streams * channels);
        var bias = reader.Take(prefix + "bias", outputs);
        var alpha = cat([reader.Take(prefix + "alpha_pre", 1), reader.Take(prefix + "alpha_post", 1), reader.Take(prefix + "alpha_res", 1)]);
        return (weight.t(), bias, alpha);
    }

    protected override void ExportHead(Tensor phi, Tensor bias, Tensor alpha, IDictionary<string, Tensor> into) =>
        throw new CheckpointException("The model ends in a learned stream reduce, which Megatron-LM's layout has no tensors for; " +
                                      "export it in the DeepSeek-V4 layout, or build the model with ReduceMode.Mean.");

    protected override (Tensor Phi, Tensor Bias, Tensor Alpha) ImportHead(int streams, long channels, LayoutReader reader) =>
        throw new CheckpointException("The model ends in a learned stream reduce, which Megatron-LM's layout has no tensors for; " +
                                      "load it from the DeepSeek-V4 layout, or build the model with ReduceMode.Mean.");
}
