using static TorchSharp.torch;

namespace Mhc.Runtime.Checkpoints.Layouts;

/// <summary>
/// DeepSeek-V4 under its Hugging Face names: <c>layers.{i}.hc_attn_fn</c> [n²+2n, n·C] (rows pre n,
/// post n, res n² row-major: our φ transposed), <c>layers.{i}.hc_attn_base</c> [n²+2n],
/// <c>layers.{i}.hc_attn_scale</c> [3] = (α_pre, α_post, α_res), the same with <c>hc_ffn_</c> for the MLP,
/// and for a learned final reduce <c>hc_head_fn</c> [n, n·C], <c>hc_head_base</c> [n], <c>hc_head_scale</c> [1];
/// all float32.
/// </summary>
public sealed class DeepSeekV4Layout(LayoutNameTable? otherNames = null) : CheckpointLayout(otherNames)
{
    public override string Name => "DeepSeek-V4";

    private static string Prefix(int layer, bool attention) => $"layers.{layer}.hc_{(attention ? "attn" : "ffn")}_";

    protected override void ExportConnection(int layer, bool attention, Tensor phi, Tensor bias, Tensor alpha, IDictionary<string, Tensor> into)
    {
        var prefix = Prefix(layer, attention);
        into[prefix + "fn"] = phi.t().contiguous();
        into[prefix + "base"] = bias.clone();
        into[prefix + "scale"] = alpha.clone();
    }

    protected override (Tensor Phi, Tensor Bias, Tensor Alpha) ImportConnection(int layer, bool attention, int streams, long channels, LayoutReader reader)
    {
        var prefix = Prefix(layer, attention);
        long outputs = (long)streams * streams + 2L * streams;
        return (reader.Take(prefix + "fn", outputs, streams * channels).t(), reader.Take(prefix + "base", outputs), reader.Take(prefix + "scale", 3));
    }

    protected override void ExportHead(Tensor phi, Tensor bias, Tensor alpha, IDictionary<string, Tensor> into)
    {
        into["hc_head_fn"] = phi.t().contiguous();
        into["hc_head_base"] = bias.clone();
        into["hc_head_scale"] = alpha.clone();
    }

    protected override (Tensor Phi, Tensor Bias, Tensor Alpha) ImportHead(int streams, long channels, LayoutReader reader) =>
        (reader.Take("hc_head_fn", streams, streams * channels).t(), reader.Take("hc_head_base", streams), reader.Take("hc_head_scale", 1));
}
