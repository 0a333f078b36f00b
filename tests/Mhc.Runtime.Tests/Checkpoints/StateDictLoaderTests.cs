using Mhc.Runtime.Checkpoints;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Checkpoints;

public sealed class StateDictLoaderTests : CheckpointFileTest
{
    private static Dictionary<string, Tensor> Snapshot(nn.Module model) =>
        model.state_dict().ToDictionary(e => e.Key, e => e.Value.clone());

    private static void AssertUnchanged(Dictionary<string, Tensor> before, nn.Module model)
    {
        foreach (var (key, value) in model.state_dict())
            Assert.True(TensorAssert.BitEqual(before[key], value), $"{key} changed");
    }

    [Fact]
    public void ReportsLoadedMissingUnexpectedAndMismatchedAndLoadsWhatFits()
    {
        manual_seed(1);
        using var source = new TinyGpt(Models.Small);
        manual_seed(2);
        using var target = new TinyGpt(Models.Small);
        var state = Snapshot(source);
        state.Remove("ln_f.bias");
        state["extra.weight"] = ones(3);
        state["wpe.weight"] = zeros(5, 5);
        state["h.0.ln_1.weight"] = ones(Models.Small.NEmbd, dtype: ScalarType.Int64);

        var report = StateDictLoader.Load(target, state);

        Assert.Equal(["ln_f.bias"], report.Missing);
        Assert.Equal(["extra.weight"], report.Unexpected);
        Assert.Equal(2, report.Mismatches.Count);
        Assert.Contains(report.Mismatches, m => m.StartsWith("wpe.weight") && m.Contains("shape [5, 5]"));
        Assert.Contains(report.Mismatches, m => m.StartsWith("h.0.ln_1.weight") && m.Contains("dtype Int64"));
        Assert.True(TensorAssert.BitEqual(target.state_dict()["wte.weight"], source.state_dict()["wte.weight"]));
        Assert.False(TensorAssert.BitEqual(target.state_dict()["wpe.weight"], source.state_dict()["wpe.weight"]));
    }

    [Theory]
    [InlineData("shape")]
    [InlineData("dtype")]
    [InlineData("unknown")]
    [InlineData("missing")]
    public void AStrictLoadOfABadFileNamesTheTensorAndChangesNothing(string fault)
    {
        manual_seed(1);
        using var source = new TinyGpt(Models.Small);
        var state = Snapshot(source);
        string culprit = fault switch
        {
            "shape" => "h.1.mlp.c_fc.weight",
            "dtype" => "h.2.ln_2.bias",
            "unknown" => "h.1.mlp.c_fc.scale",
            _ => "lm_head.weight",
        };
        switch (fault)
        {
            case "shape": state[culprit] = zeros(3, 3); break;
            case "dtype": state[culprit] = zeros(Models.Small.NEmbd, dtype: ScalarType.Int32); break;
            case "unknown": state[culprit] = zeros(1); break;
            default: state.Remove(culprit); break;
        }
        var path = Files["bad.safetensors"];
        StateDictFile.Write(path, state);
        manual_seed(2);
        using var target = new TinyGpt(Models.Small);
        var before = Snapshot(target);

        var error = Assert.Throws<CheckpointException>(() =>
            StateDictLoader.LoadFile(target, path, options: new LoadOptions(Strict: true)));

        Assert.Equal(culprit, error.TensorName);
        Assert.Contains(culprit, error.Message);
        Assert.Contains("nothing was loaded", error.Message);
        AssertUnchanged(before, target);
    }

    [Fact]
    public void TwoTensorsForOnePlaceAreRefused()
    {
        using var target = new TinyGpt(Models.Small);
        var state = new Dictionary<string, Tensor> { ["a.ln_f.weight"] = ones(32), ["b.ln_f.weight"] = ones(32) };
        var error = Assert.Throws<CheckpointException>(() => StateDictLoader.Load(target, state, new NameMap().Pattern(@"[ab]\.(.*)", "$1")));
        Assert.Contains("both map to model entry 'ln_f.weight'", error.Message);
    }
}
