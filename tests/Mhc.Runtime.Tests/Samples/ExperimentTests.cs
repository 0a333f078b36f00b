using Gpt.Trainer;
using Gpt.Trainer.Experiment;
using Gpt.Trainer.Reporting;
using Gpt.Trainer.Training;
using McMaster.Extensions.CommandLineUtils;
using Mhc.Runtime.Monitoring;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Samples;

/// <summary>
/// The trainer's experiment and report commands, end to end at toy size: every output is written, the
/// logs read back to what was measured, and mHC's single-layer gains stay 1 while training.
/// </summary>
public sealed class ExperimentTests : IDisposable
{
    private static readonly string[] TinyModel =
        ["--steps", "12", "--layers", "2", "--width", "16", "--heads", "2", "--context", "8", "--batch", "4", "--eval-interval", "6", "--probe-interval", "4"];

    private readonly string _dir = Directory.CreateTempSubdirectory("mhc-experiment-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (int Exit, string Out, string Error) Trainer(params string[] args) => TrainerCommandLine.Run(args);

    [Fact]
    public void SmokeExperimentWritesEveryOutputAndMhcSingleLayerGainsStayOne()
    {
        var (exit, output, error) = Trainer(["experiment", "--out", _dir, "--seeds", "1", "--stress", "3", .. TinyModel]);

        Assert.True(exit == 0, output + error);
        var labels = new[] { "residual-seed1", "hc-seed1", "mhc-seed1", "residual-stress", "hc-stress", "mhc-stress" };
        Assert.Equal(labels.Order(), Directory.GetDirectories(Path.Combine(_dir, "runs")).Select(Path.GetFileName).Order());
        foreach (var file in new[] { "loss.png", "amax.png", "heatmap.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(_dir, file));
            Assert.True(bytes.Length > 1000, file);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        var summary = File.ReadAllText(Path.Combine(_dir, "summary.md"));
        Assert.All(labels, label => Assert.Contains($"| {label} |", summary));
        Assert.Contains("![amax](amax.png)", summary);
        Assert.Empty(Directory.GetFileSystemEntries(_dir, "*.partial*", SearchOption.AllDirectories));

        var stress = RunFolder.Read(Path.Combine(_dir, "runs", "mhc-stress"));
        Assert.Equal(0.003, stress.Manifest.LearningRate, 12);
        Assert.Equal((6, 4), (stress.Manifest.EvalInterval, stress.Manifest.ProbeInterval));
        Assert.Equal(new[] { 4, 6, 8, 12 }, stress.History.Select(p => p.Step));
        Assert.Equal(new[] { 4, 8, 12 }, stress.Probes.Select(p => p.Step));
        var mhcProbes = new[] { "mhc-seed1", "mhc-stress" }.SelectMany(label => RunFolder.Read(Path.Combine(_dir, "runs", label)).Probes).ToList();
        Assert.Equal(6, mhcProbes.Count);
        foreach (var c in mhcProbes.SelectMany(p => p.Gains!.Connections))
        {
            Assert.Equal(ConnectionKind.Mhc, c.Kind);
            // Rows of H_res sum to 1 exactly (Sinkhorn ends on a row step); columns to within the logged column error.
            Assert.InRange(c.Forward.Max, 1 - 1e-6, 1 + 1e-6);
            Assert.InRange(c.Backward.Max, 1 - 1e-6, 1 + c.MaxColumnError + 1e-6);
        }
        Assert.All(RunFolder.Read(Path.Combine(_dir, "runs", "residual-seed1")).History, p => Assert.Null(p.Gains));
    }

    [Fact]
    public void RerunKeepsFinishedRunsAndReportRedrawsFromTheFiles()
    {
        string[] args = ["experiment", "--out", _dir, "--seeds", "1", "--stress", "0", "--connections", "mhc", .. TinyModel];
        Assert.Equal(0, Trainer(args).Exit);
        var log = Path.Combine(_dir, "runs", "mhc-seed1", RunFolder.LogFile);
        var written = File.ReadAllText(log);
        File.Delete(Path.Combine(_dir, "summary.md"));

        var again = Trainer(args);

        Assert.Equal(0, again.Exit);
        Assert.Contains("already finished", again.Out);
        Assert.Equal(written, File.ReadAllText(log));
        Assert.True(File.Exists(Path.Combine(_dir, "summary.md")));

        var report = Path.Combine(_dir, "report");
        var redraw = Trainer("report", _dir, "--out", report, "--title", "Redrawn");
        Assert.True(redraw.Exit == 0, redraw.Error);
        Assert.StartsWith("# Redrawn", File.ReadAllText(Path.Combine(report, "summary.md")));
        Assert.True(File.Exists(Path.Combine(report, "heatmap.png")));
    }

    [Fact]
    public void RunLogReadsBackWhatItWrote()
    {
        var gains = new AmaxReport([
            new ConnectionGains(0, "h.0.hc_attn", 0, ConnectionKind.Hc, new(1.25, 1.5), new(1.125, 1.75), new(1.25, 1.5), new(1.125, 1.75), 0.25),
            new ConnectionGains(1, "h.0.hc_mlp", 1, ConnectionKind.Hc, new(1.5, 2), new(1.5, 2.5), new(2, 3), new(2.25, 4.5), 0.5),
        ]);
        var history = new List<EvaluationPoint> { new(5, 2.5, double.NaN, 100.5, gains), new(10, 2.25, 2.375, 120.25, null) };

        var parsed = RunLog.Parse(RunLog.LogCsv(history), RunLog.GainsCsv(history), "test");

        Assert.Equal(2, parsed.Count);
        Assert.Equal((5, 2.5, 100.5), (parsed[0].Step, parsed[0].TrainLoss, parsed[0].TokensPerSecond));
        Assert.True(double.IsNaN(parsed[0].ValidationLoss));
        Assert.Equal(gains.Connections, parsed[0].Gains!.Connections);
        Assert.Equal((10, 2.375), (parsed[1].Step, parsed[1].ValidationLoss));
        Assert.Null(parsed[1].Gains);
        var broken = Assert.Throws<InvalidDataException>(() => RunLog.Parse("step,loss\n1,2\n", RunLog.GainsCsv(history), "run"));
        Assert.Contains("run/log.csv", broken.Message);
    }

    [Fact]
    public void PlanPutsSeedOneThenStressThenOtherSeeds()
    {
        var plan = ExperimentPlan.Create([Connection.Residual, Connection.Mhc], seeds: 3, learningRate: 1e-3, stressFactor: 3);

        Assert.Equal(new[] { "residual-seed1", "mhc-seed1", "residual-stress", "mhc-stress", "residual-seed2", "mhc-seed2", "residual-seed3", "mhc-seed3" },
            plan.Select(r => r.Label));
        Assert.Equal(3e-3, plan[2].LearningRate, 15);
        Assert.Equal(1, plan[3].Seed);
        Assert.Equal([Connection.Hc, Connection.Mhc], ExperimentPlan.ParseConnections(" HC, mhc ,hc"));
        Assert.Contains("'1'", Assert.Throws<ArgumentException>(() => ExperimentPlan.ParseConnections("1")).Message);
    }

    [Theory]
    [InlineData(new[] { "experiment", "--connections", "resnet" }, "'resnet' is not a connection")]
    [InlineData(new[] { "experiment", "--data", "/no/such/file.txt" }, "does not exist")]
    [InlineData(new[] { "report", "/no/such/folder" }, "does not exist")]
    [InlineData(new[] { "--connection", "hc", "--recompute", "--steps", "1" }, "--recompute applies to mHC connections")]
    public void BadInputFailsWithExitCodeTwoAndSaysWhy(string[] args, string message)
    {
        var (exit, _, error) = Trainer(args);

        Assert.Equal(2, exit);
        Assert.Contains(message, error);
    }

    [Fact]
    public void RecomputeTrainsToTheSameLossesAndSample()
    {
        string[] run = [.. TinyModel, "--generate", "20", "--prompt", "a"];
        var (plainExit, plain, plainError) = Trainer(run);
        var (exit, recomputed, error) = Trainer([.. run, "--recompute"]);

        Assert.True(plainExit == 0 && exit == 0, plainError + error);
        Assert.Contains("recomputing stream states in the backward", recomputed);
        // Every line but the header and the timings: losses, gains and the generated text are identical.
        static IEnumerable<string> Results(string output) => output.Split('\n')
            .Where(line => line.StartsWith("step", StringComparison.Ordinal) || line.StartsWith("---", StringComparison.Ordinal) || !line.Contains(' '))
            .Select(line => string.Join(' ', System.Text.RegularExpressions.Regex.Replace(line, @"\d+ tok/s", "")
                .Split(' ', StringSplitOptions.RemoveEmptyEntries)));
        Assert.NotEmpty(Results(plain));
        Assert.Equal(Results(plain), Results(recomputed));
    }

    [Fact]
    public void ResumedRunTakesTheSameStepsAsTheUninterruptedRun()
    {
        string Folder(string name) => Path.Combine(_dir, name);
        string[] shape = [.. TinyModel[2..], "--generate", "0"];
        Assert.Equal("--steps", TinyModel[0]);
        Assert.Equal(0, Trainer(["--steps", "12", "--out", Folder("whole"), .. shape]).Exit);
        Assert.Equal(0, Trainer(["--steps", "7", "--out", Folder("first"), .. shape]).Exit);

        var (exit, output, error) = Trainer(["--resume", Folder("first"), "--steps", "5", "--out", Folder("rest"), .. shape]);

        Assert.True(exit == 0, output + error);
        Assert.DoesNotContain("note:", output);
        foreach (var file in new[] { "model.bin", "optimizer.bin", "batches.bin" })
            Assert.True(File.ReadAllBytes(Path.Combine(Folder("whole"), file)).SequenceEqual(File.ReadAllBytes(Path.Combine(Folder("rest"), file))), $"{file} differs");
        Assert.Equal(12, Checkpoint.Peek(Folder("rest")).Steps);
        // The resumed log numbers its steps on from the checkpoint and measures what the whole run measured there.
        var whole = RunFolder.Read(Folder("whole")).History.Where(p => p.Step > 7).ToList();
        var rest = RunFolder.Read(Folder("rest")).History;
        Assert.Equal(new[] { 8, 12 }, rest.Select(p => p.Step));
        Assert.Equal(whole.Select(p => (p.Step, p.TrainLoss, p.ValidationLoss)), rest.Select(p => (p.Step, p.TrainLoss, p.ValidationLoss)));
        Assert.Equal(whole.Select(p => p.Gains!.MaxCompositeGain), rest.Select(p => p.Gains!.MaxCompositeGain));
        Assert.Equal(7, RunFolder.Read(Folder("rest")).Manifest.StepsBefore);
        Assert.Contains("steps 8–12 (resumed after 7) of AdamW", File.ReadAllText(Path.Combine(Folder("rest"), "summary.md")));
    }

    [Theory]
    [InlineData("optimizer.bin", null)]         // a checkpoint from before the state was saved
    [InlineData("state-steps.txt", "5")]        // a save cut off after the state, before the checkpoint
    public void CheckpointWithoutMatchingOptimizerStateResumesWithANote(string file, string? replacement)
    {
        var first = Path.Combine(_dir, "first");
        Assert.Equal(0, Trainer(["--steps", "2", "--out", first, .. TinyModel[2..], "--generate", "0"]).Exit);
        if (replacement is null)
            File.Delete(Path.Combine(first, file));
        else
            File.WriteAllText(Path.Combine(first, file), replacement);

        var (exit, output, error) = Trainer("--resume", first, "--steps", "2", "--generate", "0");

        Assert.True(exit == 0, output + error);
        Assert.Contains("holds no optimizer state", output);
        Assert.Contains("step     4", output);
    }

    [Fact]
    public void StreamCountOtherThanTheBuiltOneExplainsHowToRebuild()
    {
        var (exit, _, error) = Trainer("--streams", "3", "--steps", "1");

        Assert.Equal(2, exit);
        Assert.Contains("-p:MhcStreams=3", error);
    }
}
