using System.ComponentModel.DataAnnotations;
using Gpt.Trainer.Corpus;
using Gpt.Trainer.Display;
using Gpt.Trainer.Experiment;
using Gpt.Trainer.Reporting;
using Gpt.Trainer.Training;
using McMaster.Extensions.CommandLineUtils;
using static TorchSharp.torch;

namespace Gpt.Trainer;

[Command("gpt-trainer", Description = "Trains a character-level GPT with residual, HC or mHC connections on the built-in text or any text file, then generates text.",
    ExtendedHelpText = "\nDefaults: 200 steps, 4 layers, width 128, 4 heads, context 64, batch 16, lr 0.001, evaluation and probe every 50 steps.")]
[HelpOption("-h|--help")]
[Subcommand(typeof(ExperimentCommand), typeof(ReportCommand))]
public sealed class Program : TrainingOptions
{
    public Program()
    {
        Steps = 200;
        Layers = 4;
    }

    public static int Main(string[] args) => CommandLineApplication.Execute<Program>(args);

    [Option("--connection <KIND>", "residual, hc or mhc (default mhc).", CommandOptionType.SingleValue)]
    [McMaster.Extensions.CommandLineUtils.AllowedValues("residual", "hc", "mhc", IgnoreCase = true)]
    public string ConnectionName { get; set; } = "mhc";

    [Option("--seed <N>", "Seed of initialisation and batches (default 1): runs are reproducible from it. With --resume the checkpoint's batch sequence continues.", CommandOptionType.SingleValue)]
    public int Seed { get; set; } = 1;

    [Option("--out <DIR>", "Save the trained model, its logs, plots and summary here (model.bin, checkpoint.json, optimizer.bin, batches.bin, state-steps.txt, run.json, log.csv, gains.csv, *.png, summary.md).", CommandOptionType.SingleValue)]
    public string? Out { get; set; }

    [Option("--resume <DIR>", "Continue from a checkpoint written by --out: its weights, optimizer state, batch sequence and step count (its shape and connection win).", CommandOptionType.SingleValue)]
    public string? Resume { get; set; }

    [Option("--init-from <FILE>", "Start from a state dict written elsewhere: PyTorch (.bin/.pt), safetensors or TorchSharp, told by its content. A residual GPT's weights are retrofitted into the chosen connection; see --init-names.", CommandOptionType.SingleValue)]
    public string? InitFrom { get; set; }

    [Option("--init-names <NAMES>", "How --init-from names its tensors: exact (the sample's names, default), gpt2 (Hugging Face GPT-2), megatron or deepseek-v4 (an mHC GPT exported in that layout).", CommandOptionType.SingleValue)]
    public string InitNamesName { get; set; } = "exact";

    [Option("--export <FILE>", "After training, write the mHC model in --export-layout to FILE (.safetensors, or .bin/.pt in PyTorch's format).", CommandOptionType.SingleValue)]
    public string? Export { get; set; }

    [Option("--export-layout <LAYOUT>", "megatron (Megatron-LM's HyperConnectionModule names, default) or deepseek-v4 (DeepSeek-V4's Hugging Face names).", CommandOptionType.SingleValue)]
    public string ExportLayoutName { get; set; } = "megatron";

    [Option("--convention <FORMULAS>", "mHC: mhc-spec (default), megatron or deepseek-v4: compute what Megatron-LM's or DeepSeek-V4's connections compute, so that a model --export-ed to that engine gives there what it gave here (docs/compat-spec.md). With --resume the checkpoint's convention wins.", CommandOptionType.SingleValue)]
    public string ConventionName { get; set; } = "mhc-spec";

    [Option("--recompute", "mHC: keep one stream state per recompute segment and re-derive the others in the backward (paper Eq. 20). Less memory, same gradients.", CommandOptionType.NoValue)]
    public bool Recompute { get; set; }

    [Option("--generate <N>", "Characters to generate after training (default 200; 0 for none).", CommandOptionType.SingleValue)]
    [Range(0, 100_000)]
    public int Generate { get; set; } = 200;

    [Option("--prompt <TEXT>", "Text to start generation from.", CommandOptionType.SingleValue)]
    public string Prompt { get; set; } = "KING:\n";

    public int OnExecute(IConsole console)
    {
        try
        {
            Mhc.Runtime.CpuAllocator.ReuseFreedMemory();
            var connection = Enum.Parse<Connection>(ConnectionName, ignoreCase: true);
            var initNames = PortableCheckpoints.ParseInitNames(InitNamesName);
            var exportLayout = PortableCheckpoints.ParseExportLayout(ExportLayoutName);
            var convention = Conventions.Parse(ConventionName);
            if (InitFrom is not null && Resume is not null)
                throw new ArgumentException("--init-from starts a new run and --resume continues one; give one of them.");
            Checkpoint? resumed = Resume is null ? null : Checkpoint.Peek(Resume);
            if (Export is not null)
                PortableCheckpoints.RequireMhc(resumed?.Connection ?? connection, "--export");
            if (resumed is null && connection != Connection.Residual && Streams is { } streams)
                ModelFactory.RequireStreams(streams);
            // On --resume the checkpoint's context decides how long the windows are.
            using var corpus = TextCorpus.Load(Data, (int)(resumed?.Shape.Context ?? Context));
            if (Generate > 0)
                corpus.Tokenizer.Encode(Prompt); // a prompt the text cannot spell fails now, not after training
            manual_seed(Seed);
            nn.Module<Tensor, Tensor> model;
            if (resumed is not null)
            {
                (resumed, model) = Checkpoint.Load(Resume!);
                if (resumed.Alphabet != corpus.Tokenizer.Alphabet)
                {
                    model.Dispose();
                    throw new InvalidDataException("--resume: the checkpoint was trained on text with a different alphabet than this --data.");
                }
                connection = resumed.Connection;
                convention = resumed.Convention;
            }
            else
            {
                var newShape = new ModelShape(corpus.Tokenizer.VocabularySize, Context, Layers, Width, Heads);
                model = ModelFactory.Create(connection, newShape, convention);
                if (InitFrom is not null)
                {
                    try
                    {
                        console.WriteLine(PortableCheckpoints.Start(model, connection, newShape, InitFrom, initNames));
                    }
                    catch
                    {
                        model.Dispose();
                        throw;
                    }
                }
            }
            if (Recompute && connection != Connection.Mhc)
            {
                model.Dispose();
                throw new ArgumentException($"--recompute applies to mHC connections; this run uses {connection}.");
            }

            using (model)
            {
                Mhc.Runtime.HyperConnections.EnableRecompute(model, Recompute);
                var shape = resumed?.Shape ?? new ModelShape(corpus.Tokenizer.VocabularySize, Context, Layers, Width, Heads);
                var connections = Mhc.Runtime.HyperConnections.Find(model);
                long parameters = model.parameters().Sum(p => p.numel());
                console.WriteLine($"GPT with {connection} connections{(connections.Count > 0 ? $" ({connections[0].Streams} streams{(convention != Mhc.Runtime.ConnectionConvention.MhcSpec ? $", {Conventions.Name(convention)} convention" : "")})" : "")}: " +
                                  $"{shape.Layers} layers, width {shape.Width}, {shape.Heads} heads, context {shape.Context}, " +
                                  $"{parameters:N0} parameters{(Recompute ? ", recomputing stream states in the backward" : "")}; {corpus.Description}.");
                int stepsBefore = resumed?.Steps ?? 0;
                string? state = resumed is not null && TrainingRun.HasState(Resume!, stepsBefore) ? Resume : null;
                if (resumed is not null && state is null)
                    console.WriteLine($"note: {Resume} holds no optimizer state for its {stepsBefore} steps (an older checkpoint, or a save that was cut off); AdamW's moments and the batch sequence start afresh.");
                using var run = ProgressConsole.Run(console, progress =>
                {
                    var training = new TrainingRun(model, corpus, shape.Context,
                        new TrainingSettings(Steps, Batch, LearningRate, EvalInterval, ProbeInterval, (ulong)Seed), progress.BeginRun("", stepsBefore, Steps));
                    try
                    {
                        training.Resume(stepsBefore, state);
                        training.Run();
                        return training;
                    }
                    catch
                    {
                        training.Dispose();
                        throw;
                    }
                });

                if (Out is not null)
                {
                    // The training state first and checkpoint.json last: a folder whose checkpoint.json is
                    // current has current weights and optimizer state too.
                    run.Save(Out);
                    new Checkpoint(connection, shape, corpus.Tokenizer.Alphabet, run.StepsDone, convention).Save(Out, model);
                    var manifest = new RunManifest(Path.GetFileName(Path.GetFullPath(Out).TrimEnd(Path.DirectorySeparatorChar)), connection,
                        connections.Count > 0 ? connections[0].Streams : 1, shape, Steps, Batch, LearningRate, Seed, EvalInterval, ProbeInterval, corpus.Description, parameters,
                        StepsBefore: stepsBefore);
                    var record = new RunRecord(manifest, run.History, run.TrainingSeconds);
                    RunFolder.Write(Out, record);
                    var files = RunReport.Write(Out, $"GPT with {RunPlots.NameOf(connection)} connections on {corpus.Source}", [record]);
                    console.WriteLine($"saved to {Out}: model.bin, checkpoint.json, optimizer.bin, batches.bin, state-steps.txt, {RunFolder.ManifestFile}, {RunFolder.LogFile}, {RunFolder.GainsFile}, {string.Join(", ", files)}");
                }
                if (Export is not null)
                {
                    PortableCheckpoints.Export(model, connection, shape, Export, exportLayout);
                    console.WriteLine($"exported the mHC model in the {ExportLayoutName} layout to {Export}");
                }
                if (Generate > 0)
                    console.WriteLine("--- sample ---\n" + Sampler.Generate(model, corpus.Tokenizer, Prompt, Generate, shape.Context, 0.8, (ulong)Seed));
            }
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
