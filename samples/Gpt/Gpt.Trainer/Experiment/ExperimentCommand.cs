using System.ComponentModel.DataAnnotations;
using Gpt.Trainer.Corpus;
using Gpt.Trainer.Display;
using Gpt.Trainer.Reporting;
using Gpt.Trainer.Training;
using McMaster.Extensions.CommandLineUtils;

namespace Gpt.Trainer.Experiment;

/// <summary>
/// <c>gpt-trainer experiment</c>: residual vs HC vs mHC on one text, several seeds and a stress run at a
/// higher learning rate; each run's logs in its own folder, then plots and a summary over all of them.
/// </summary>
[Command("experiment", Description = "Trains residual, HC and mHC GPTs side by side (several seeds, plus stress runs at a higher learning rate) and writes logs, plots and a markdown summary.",
    ExtendedHelpText = "\nDefaults: 1000 steps, 6 layers, width 128, 4 heads, context 64, batch 16, lr 0.001, evaluation and probe every 50 steps.")]
public sealed class ExperimentCommand : TrainingOptions
{
    public ExperimentCommand()
    {
        Steps = 1000;
        Layers = 6;
    }

    public const string RunsFolder = "runs";

    [Option("--out <DIR>", "Folder for runs/<label>/ logs, the plots and summary.md (default: experiment).", CommandOptionType.SingleValue)]
    public string Out { get; set; } = "experiment";

    [Option("--connections <LIST>", "Connections to compare, comma-separated (default residual,hc,mhc).", CommandOptionType.SingleValue)]
    public string Connections { get; set; } = "residual,hc,mhc";

    [Option("--seeds <N>", "Seeds per connection at the base learning rate (default 3).", CommandOptionType.SingleValue)]
    [Range(1, 100)]
    public int Seeds { get; set; } = 3;

    [Option("--stress <FACTOR>", "Stress runs (seed 1) at this multiple of --lr; 0 for none (default 3).", CommandOptionType.SingleValue)]
    [Range(0.0, 1000.0)]
    public double Stress { get; set; } = 3;

    public int OnExecute(IConsole console)
    {
        try
        {
            Mhc.Runtime.CpuAllocator.ReuseFreedMemory();
            var connections = ExperimentPlan.ParseConnections(Connections);
            var plan = ExperimentPlan.Create(connections, Seeds, LearningRate, Stress);
            int streams = Streams ?? ModelFactory.BuiltStreams;
            if (connections.Any(c => c != Connection.Residual)) ModelFactory.RequireStreams(streams);
            using var corpus = TextCorpus.Load(Data, Context);
            var shape = new ModelShape(corpus.Tokenizer.VocabularySize, Context, Layers, Width, Heads);
            var runsFolder = Path.Combine(Out, RunsFolder);
            console.WriteLine($"Experiment: {plan.Count} runs of {Steps} steps on {corpus.Description}; GPT {Layers} layers, width {Width}, " +
                              $"{Heads} heads, context {Context}, batch {Batch}; results in {Path.GetFullPath(Out)}");

            var records = ProgressConsole.Run(console, progress =>
            {
                var done = new List<RunRecord>();
                foreach (var (planned, index) in plan.Select((p, i) => (p, i + 1)))
                {
                    var manifest = RunExecutor.Manifest(planned.Label, planned.Connection, streams, shape, Steps, Batch, planned.LearningRate, planned.Seed, EvalInterval, ProbeInterval, corpus);
                    var folder = Path.Combine(runsFolder, planned.Label);
                    if (RunFolder.TryRead(folder, out var existing, out var problem) && existing.Manifest == manifest)
                    {
                        progress.WriteLine($"[{index}/{plan.Count}] {planned.Label}: already finished in {folder}, kept");
                        done.Add(existing);
                        continue;
                    }
                    if (problem is not null)
                        progress.WriteLine($"[{index}/{plan.Count}] {planned.Label}: {problem}; training it again");
                    progress.WriteLine($"[{index}/{plan.Count}] {planned.Label}: {RunPlots.NameOf(planned.Connection)}, seed {planned.Seed}, lr {planned.LearningRate:G3}, {manifest.Parameters:N0} parameters");
                    var record = RunExecutor.Train(manifest, corpus, progress.BeginRun(planned.Label, stepsBefore: 0, Steps));
                    RunFolder.Write(folder, record);
                    done.Add(record);
                }
                return done;
            });

            var files = RunReport.Write(Out, $"Residual vs HC vs mHC on {corpus.Source}", records);
            console.WriteLine($"wrote {string.Join(", ", files)} and {records.Count} run folders under {Path.Combine(Out, RunsFolder)}");
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
