using Mhc.Runtime.Checkpoints;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Samples;

/// <summary>The trainer starting from a checkpoint written elsewhere and exporting in a public layout.</summary>
public sealed class TrainerCheckpointOptionsTests : IDisposable
{
    private static readonly string[] TinyRun =
        ["--steps", "1", "--layers", "2", "--width", "16", "--heads", "2", "--context", "8", "--batch", "2", "--generate", "0"];

    private readonly string _dir = Directory.CreateTempSubdirectory("mhc-trainer-checkpoints-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Output) Trainer(params string[] args)
    {
        var (exit, output, error) = TrainerCommandLine.Run(args);
        return (exit, output + error);
    }

    private string At(string name) => Path.Combine(_dir, name);

    [Fact]
    public void TheConventionBuildsTheConnectionsAndSurvivesAResume()
    {
        var (exit, output) = Trainer(["--convention", "megatron", "--out", At("megatron"), .. TinyRun]);
        Assert.True(exit == 0, output);
        Assert.Contains("(4 streams, megatron convention)", output);
        Assert.Contains("\"Convention\": 1", File.ReadAllText(At("megatron/checkpoint.json")));

        (exit, output) = Trainer(["--resume", At("megatron"), .. TinyRun]);
        Assert.True(exit == 0, output);
        Assert.Contains("megatron convention", output);

        (exit, output) = Trainer(["--connection", "hc", "--convention", "deepseek-v4", .. TinyRun]);
        Assert.NotEqual(0, exit);
        Assert.Contains("--convention deepseek-v4 applies to mHC connections", output);
        (exit, output) = Trainer(["--convention", "tilelang", .. TinyRun]);
        Assert.NotEqual(0, exit);
        Assert.Contains("--convention 'tilelang' is not one of mhc-spec, megatron, deepseek-v4", output);
    }

    [Fact]
    public void AResidualSafetensorsCheckpointStartsAnMhcRunThatExportsAndReloadsInEitherLayout()
    {
        // A residual GPT saved as safetensors, as PyTorch would have written it.
        var (exit, output) = Trainer(["--connection", "residual", "--out", At("residual"), .. TinyRun]);
        Assert.True(exit == 0, output);
        var residual = StateDictFile.Read(At("residual/model.bin"));
        StateDictFile.Write(At("residual.safetensors"), residual);

        foreach (var layout in new[] { "megatron", "deepseek-v4" })
        {
            var exported = At($"{layout}.safetensors");
            (exit, output) = Trainer(["--init-from", At("residual.safetensors"), "--export", exported, "--export-layout", layout, .. TinyRun]);
            Assert.True(exit == 0, output);
            Assert.Contains($"started from {At("residual.safetensors")}: loaded {residual.Count}", output);
            var names = StateDictFile.Read(exported).Keys;
            Assert.Contains(layout == "megatron" ? "decoder.layers.1.mlp_hyper_connection.mapping_proj.weight" : "layers.1.hc_ffn_fn", names);

            (exit, output) = Trainer(["--init-from", exported, "--init-names", layout, .. TinyRun]);
            Assert.True(exit == 0, output);
            Assert.Contains($"started from {exported}: loaded", output);
        }
    }

    [Fact]
    public void ExportNeedsMhcAndACheckpointThatDoesNotFitIsRefusedBeforeTraining()
    {
        var (exit, output) = Trainer(["--connection", "hc", "--export", At("hc.safetensors"), .. TinyRun]);
        Assert.Equal(2, exit);
        Assert.Contains("--export needs the mHC GPT", output);
        Assert.Empty(Directory.GetFiles(_dir));

        StateDictFile.Write(At("wrong.bin"), new Dictionary<string, Tensor> { ["wte.weight"] = zeros(3, 3) });
        (exit, output) = Trainer(["--init-from", At("wrong.bin"), "--out", At("run"), .. TinyRun]);
        Assert.Equal(2, exit);
        Assert.Contains("does not fit this GPT", output);
        Assert.Contains("wte.weight", output);
        Assert.False(Directory.Exists(At("run")));
    }
}
