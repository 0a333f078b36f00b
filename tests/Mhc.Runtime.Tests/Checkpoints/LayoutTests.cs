using Gpt.Trainer.Training;
using Mhc.Runtime.Checkpoints;
using Mhc.Runtime.Checkpoints.Layouts;
using Mhc.Runtime.Tests.Support;
using TorchSharp.Modules;

namespace Mhc.Runtime.Tests.Checkpoints;

/// <summary>Writing the converted GPT in the Megatron-LM and DeepSeek-V4 layouts, and reading it back.</summary>
public sealed class LayoutTests : CheckpointFileTest
{
    private static ModelShape Shape => TrainedSampleGpt.Shape;
    private static int Streams => ModelFactory.BuiltStreams;

    /// <summary>The converted sample GPT with every parameter moved off its init, as after training.</summary>
    private static nn.Module<Tensor, Tensor> TrainedMhcGpt(int seed) => TrainedSampleGpt.Create(Connection.Mhc, seed);

    public static TheoryData<string, string> Layouts => new()
    {
        { "megatron", "model.safetensors" }, { "megatron", "model.bin" },
        { "deepseek", "model.safetensors" }, { "deepseek", "model.pt" },
    };

    private static CheckpointLayout Layout(string name) => name == "megatron"
        ? new MegatronLayout(SampleGptNames.Megatron(Shape.Heads))
        : new DeepSeekV4Layout(SampleGptNames.DeepSeekV4());

    [Theory]
    [MemberData(nameof(Layouts))]
    public void TheGptRoundTripsBitExact(string layout, string fileName)
    {
        using var trained = TrainedMhcGpt(seed: 1);
        var path = Files[fileName];
        Layout(layout).Save(trained, path);

        using var restored = TrainedMhcGpt(seed: 2);
        var report = Layout(layout).Load(restored, path);

        Assert.True(report.IsComplete, report.ToString());
        var expected = trained.state_dict();
        Assert.Equal(expected.Count, report.Loaded.Count);
        foreach (var (name, value) in restored.state_dict())
            Assert.True(TensorAssert.BitEqual(expected[name], value), name);
    }

    [Fact]
    public void MegatronTensorsHaveItsNamesShapesAndRowOrder()
    {
        using var model = TrainedMhcGpt(seed: 1);
        var state = new MegatronLayout(SampleGptNames.Megatron(Shape.Heads)).Export(model);
        int n = Streams;
        long c = Shape.Width, outputs = n * n + 2 * n;
        var ours = model.state_dict();

        for (int layer = 0; layer < Shape.Layers; layer++)
        {
            foreach (var (sublayer, connection) in new[] { ("self_attention", "hc_attn"), ("mlp", "hc_mlp") })
            {
                var prefix = $"decoder.layers.{layer}.{sublayer}_hyper_connection.";
                var weight = state[prefix + "mapping_proj.weight"];
                Assert.Equal(new[] { outputs, n * c }, weight.shape);
                Assert.Equal(ScalarType.Float32, weight.dtype);
                var phi = ours[$"h.{layer}.{connection}.phi"];
                // Row k of the projection is output k: pre 0..n-1, post n..2n-1, res (i, j) at 2n + i·n + j.
                for (long k = 0; k < outputs; k++)
                    Assert.True(TensorAssert.BitEqual(weight[k], phi[TensorIndex.Colon, k].contiguous()), $"{prefix} row {k}");
                Assert.True(TensorAssert.BitEqual(state[prefix + "bias"], ours[$"h.{layer}.{connection}.bias"]));
                var alpha = ours[$"h.{layer}.{connection}.alpha"];
                string[] alphas = ["alpha_pre", "alpha_post", "alpha_res"];
                for (int a = 0; a < 3; a++)
                {
                    Assert.Equal(new long[] { 1 }, state[prefix + alphas[a]].shape);
                    Assert.Equal(alpha[a].item<float>(), state[prefix + alphas[a]].item<float>());
                }
            }
        }
        Assert.Contains("embedding.word_embeddings.weight", state.Keys);
        Assert.Contains("decoder.final_layernorm.weight", state.Keys);
        Assert.Contains("output_layer.weight", state.Keys);
        Assert.DoesNotContain(state.Keys, k => k.StartsWith("h."));
    }

    [Fact]
    public void MegatronQkvRowsAreGroupedByHead()
    {
        using var model = TrainedMhcGpt(seed: 1);
        var state = new MegatronLayout(SampleGptNames.Megatron(Shape.Heads)).Export(model);
        var ours = model.state_dict()["h.1.attn.c_attn.weight"];
        var theirs = state["decoder.layers.1.self_attention.linear_qkv.weight"];
        long c = Shape.Width, d = c / Shape.Heads;
        for (long head = 0; head < Shape.Heads; head++)
            for (long part = 0; part < 3; part++) // q, k, v
                Assert.True(TensorAssert.BitEqual(
                    theirs[TensorIndex.Slice((head * 3 + part) * d, (head * 3 + part + 1) * d)].contiguous(),
                    ours[TensorIndex.Slice(part * c + head * d, part * c + (head + 1) * d)].contiguous()), $"head {head} part {part}");
    }

    [Fact]
    public void DeepSeekV4TensorsHaveItsNamesAndShapes()
    {
        using var model = TrainedMhcGpt(seed: 1);
        var state = new DeepSeekV4Layout(SampleGptNames.DeepSeekV4()).Export(model);
        int n = Streams;
        long outputs = n * n + 2 * n;
        var ours = model.state_dict();
        for (int layer = 0; layer < Shape.Layers; layer++)
        {
            foreach (var (kind, connection) in new[] { ("attn", "hc_attn"), ("ffn", "hc_mlp") })
            {
                Assert.Equal(new[] { outputs, n * Shape.Width }, state[$"layers.{layer}.hc_{kind}_fn"].shape);
                Assert.True(TensorAssert.BitEqual(state[$"layers.{layer}.hc_{kind}_fn"], ours[$"h.{layer}.{connection}.phi"].t().contiguous()));
                Assert.True(TensorAssert.BitEqual(state[$"layers.{layer}.hc_{kind}_base"], ours[$"h.{layer}.{connection}.bias"]));
                Assert.True(TensorAssert.BitEqual(state[$"layers.{layer}.hc_{kind}_scale"], ours[$"h.{layer}.{connection}.alpha"]));
            }
        }
        Assert.Contains("embed.weight", state.Keys);
        Assert.Contains("head.weight", state.Keys);
        Assert.Contains("layers.0.attn_norm.weight", state.Keys);
        Assert.DoesNotContain(state.Keys, k => k.StartsWith("hc_head")); // the sample reduces by mean
    }

    [Fact]
    public void ALearnedFinalReduceIsDeepSeekV4sHeadAndMegatronRefusesIt()
    {
        manual_seed(4);
        using var model = new LearnedHeadModel(streams: 4, channels: 8);
        using (no_grad())
            foreach (var p in model.parameters()) p.add_(randn_like(p) * 0.1);
        var path = Files["head.safetensors"];
        new DeepSeekV4Layout().Save(model, path);

        var state = StateDictFile.Read(path);
        Assert.Equal(new long[] { 4, 32 }, state["hc_head_fn"].shape);
        Assert.Equal(new long[] { 4 }, state["hc_head_base"].shape);
        Assert.Equal(new long[] { 1 }, state["hc_head_scale"].shape);
        Assert.Equal(new long[] { 24, 32 }, state["layers.0.hc_attn_fn"].shape);

        manual_seed(5);
        using var restored = new LearnedHeadModel(streams: 4, channels: 8);
        Assert.True(new DeepSeekV4Layout().Load(restored, path).IsComplete);
        foreach (var (name, value) in restored.state_dict())
            Assert.True(TensorAssert.BitEqual(model.state_dict()[name], value), name);

        var error = Assert.Throws<CheckpointException>(() => new MegatronLayout().Save(model, Files["megatron.safetensors"]));
        Assert.Contains("learned stream reduce", error.Message);
        Assert.Equal(["head.safetensors"], Files.Listing);
    }

    public static TheoryData<string, string> Faults => new()
    {
        { "megatron", "shape" }, { "megatron", "dtype" }, { "megatron", "unknown" }, { "megatron", "missing" }, { "megatron", "other shape" },
        { "deepseek", "shape" }, { "deepseek", "dtype" }, { "deepseek", "unknown" }, { "deepseek", "missing" }, { "deepseek", "other shape" },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void ABadLayoutFileNamesTheTensorAndChangesNothing(string layout, string fault)
    {
        using var trained = TrainedMhcGpt(seed: 1);
        var state = Layout(layout).Export(trained);
        string connectionTensor = layout == "megatron" ? "decoder.layers.1.mlp_hyper_connection.mapping_proj.weight" : "layers.1.hc_ffn_fn";
        string otherTensor = layout == "megatron" ? "decoder.layers.0.pre_mlp_layernorm.weight" : "layers.0.ffn_norm.weight";
        string culprit = fault switch { "unknown" => "layers.9.mystery", "other shape" => otherTensor, _ => connectionTensor };
        switch (fault)
        {
            case "other shape": state[culprit] = zeros(7); break;
            case "shape": state[culprit] = state[culprit][TensorIndex.Slice(0, 3)].contiguous(); break;
            case "dtype": state[culprit] = state[culprit].to_type(ScalarType.Float64); break;
            case "unknown": state[culprit] = zeros(2); break;
            default: state.Remove(culprit); break;
        }
        var path = Files["bad.safetensors"];
        StateDictFile.Write(path, state);
        using var target = TrainedMhcGpt(seed: 2);
        var before = target.state_dict().ToDictionary(e => e.Key, e => e.Value.clone());

        var error = Assert.Throws<CheckpointException>(() => Layout(layout).Load(target, path));

        Assert.Equal(culprit, error.TensorName);
        Assert.Contains(culprit, error.Message);
        Assert.Contains(path, error.Message);
        foreach (var (name, value) in target.state_dict())
            Assert.True(TensorAssert.BitEqual(before[name], value), $"{name} changed");
    }

    /// <summary>Two connections and a learned reduce: the smallest model with every tensor DeepSeek-V4 names.</summary>
    private sealed class LearnedHeadModel : nn.Module<Tensor, Tensor>
    {
        private readonly HyperConnection hc_attn, hc_ffn;
        private readonly StreamReduce reduce;
        private readonly Linear proj;

        public LearnedHeadModel(int streams, long channels) : base(nameof(LearnedHeadModel))
        {
            var options = new HyperConnectionOptions { Streams = streams };
            hc_attn = new HyperConnection(nameof(hc_attn), channels, options, layerIndex: 0);
            hc_ffn = new HyperConnection(nameof(hc_ffn), channels, options, layerIndex: 1);
            reduce = new StreamReduce(nameof(reduce), streams, channels, ReduceMode.Learned);
            proj = nn.Linear(channels, channels);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => reduce.forward(hc_ffn.forward(hc_attn.forward(x, proj), proj));
    }
}
