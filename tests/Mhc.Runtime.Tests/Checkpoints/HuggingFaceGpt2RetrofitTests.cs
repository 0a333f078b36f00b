using Gpt.Trainer.Training;
using Mhc.Runtime.Checkpoints;
using Mhc.Runtime.Retrofit;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Checkpoints;

/// <summary>
/// A residual GPT trained elsewhere and saved by PyTorch under Hugging Face GPT-2 names becomes the
/// converted mHC GPT with its function intact.
/// </summary>
public sealed class HuggingFaceGpt2RetrofitTests : CheckpointFileTest
{
    private static ModelShape Shape => TrainedSampleGpt.Shape;
    private static nn.Module<Tensor, Tensor> TrainedResidual() => TrainedSampleGpt.Create(Connection.Residual, seed: 21, spread: 0.2);

    /// <summary>
    /// The state dict <c>GPT2LMHeadModel.state_dict()</c> would hold for it: <c>transformer.</c> names, Conv1D
    /// weights stored [in, out], the causal-mask buffers; <paramref name="tiedHead"/> false leaves out
    /// <c>lm_head.weight</c> as Hugging Face's safetensors files do for tied embeddings.
    /// </summary>
    private static Dictionary<string, Tensor> AsHuggingFaceGpt2(nn.Module model, bool tiedHead)
    {
        var conv1D = new System.Text.RegularExpressions.Regex(@"^h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$");
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, tensor) in model.state_dict())
        {
            if (name == "lm_head.weight") { if (tiedHead) state[name] = tensor.clone(); continue; }
            state["transformer." + name] = conv1D.IsMatch(name) ? tensor.t().contiguous() : tensor.clone();
        }
        for (int i = 0; i < Shape.Layers; i++)
        {
            state[$"transformer.h.{i}.attn.bias"] = ones(1, 1, Shape.Context, Shape.Context).tril();
            state[$"transformer.h.{i}.attn.masked_bias"] = tensor(-1e4f);
        }
        return state;
    }

    [Theory]
    [InlineData("pytorch_model.bin", true)]
    [InlineData("model.safetensors", false)]
    public void TheRetrofittedMhcGptComputesTheOriginalsOutput(string fileName, bool headInFile)
    {
        using var original = TrainedResidual();
        // Tie the head as GPT-2 does, so a file without lm_head.weight still describes the same model.
        using (no_grad())
            original.state_dict()["lm_head.weight"].copy_(original.state_dict()["wte.weight"]);
        var path = Files[fileName];
        StateDictFile.Write(path, AsHuggingFaceGpt2(original, headInFile));

        manual_seed(3); // an init unlike the original's
        using var converted = ModelFactory.Create(Connection.Mhc, Shape);
        var report = Retrofitter.LoadCheckpoint(converted, path, NameMap.HuggingFaceGpt2());

        Assert.True(report.IsComplete, report.ToString());
        Assert.Equal(original.state_dict().Keys.Order(), report.Loaded.Order());
        Assert.Equal(2 * Shape.Layers * 3, report.KeptAtInit.Count);
        using var tokens = TrainedSampleGpt.Tokens();
        using var expected = original.forward(tokens);
        using var actual = converted.forward(tokens);
        double difference = TensorAssert.MaxAbsDifference(actual, expected);
        Assert.True(difference <= 1e-5, $"max |difference| {difference:E2}");
    }

    [Fact]
    public void WithoutTheMapTheSameFileReportsWhatDoesNotFit()
    {
        using var original = TrainedResidual();
        var path = Files["pytorch_model.bin"];
        StateDictFile.Write(path, AsHuggingFaceGpt2(original, tiedHead: true));
        using var converted = ModelFactory.Create(Connection.Mhc, Shape);

        var report = Retrofitter.LoadCheckpoint(converted, path, new NameMap().Prefix("transformer.", ""));

        Assert.False(report.IsComplete);
        Assert.Contains("h.0.attn.bias", report.Unexpected.Select(n => n.Replace("transformer.", "")));
        // The Conv1D weights are square only for c_proj; the others are reported, not loaded.
        Assert.Contains(report.ShapeMismatches, m => m.StartsWith("h.0.attn.c_attn.weight") && m.Contains("[32, 96]"));
    }
}
