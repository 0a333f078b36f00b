using System.ComponentModel.DataAnnotations;
using Gpt.Trainer.Corpus;
using Gpt.Trainer.Training;
using McMaster.Extensions.CommandLineUtils;
using static TorchSharp.torch;

namespace Gpt.Trainer;

[Command("gpt-trainer", Description = "Trains a character-level GPT with residual, HC or mHC connections on the built-in text or any text file, then generates text.")]
[HelpOption("-h|--help")]
public sealed class Program
{
    public static int Main(string[] args) => CommandLineApplication.Execute<Program>(args);

    [Option("--connection <KIND>", "residual, hc or mhc (default mhc).", CommandOptionType.SingleValue)]
    [McMaster.Extensions.CommandLineUtils.AllowedValues("residual", "hc", "mhc", IgnoreCase = true)]
    public string ConnectionName { get; set; } = "mhc";

    [Option("--steps <N>", "Training steps (default 200).", CommandOptionType.SingleValue)]
    [Range(1, 10_000_000)]
    public int Steps { get; set; } = 200;

    [Option("--layers <N>", "Transformer blocks (default 4).", CommandOptionType.SingleValue)]
    [Range(1, 256)]
    public int Layers { get; set; } = 4;

    [Option("--width <C>", "Embedding width (default 128).", CommandOptionType.SingleValue)]
    [Range(8, 16384)]
    public int Width { get; set; } = 128;

    [Option("--heads <N>", "Attention heads (default 4).", CommandOptionType.SingleValue)]
    [Range(1, 256)]
    public int Heads { get; set; } = 4;

    [Option("--context <T>", "Context length in characters (default 64).", CommandOptionType.SingleValue)]
    [Range(2, 8192)]
    public int Context { get; set; } = 64;

    [Option("--batch <B>", "Sequences per step (default 16).", CommandOptionType.SingleValue)]
    [Range(1, 4096)]
    public int Batch { get; set; } = 16;

    [Option("--lr <RATE>", "AdamW learning rate (default 0.001).", CommandOptionType.SingleValue)]
    public double LearningRate { get; set; } = 1e-3;

    [Option("--seed <N>", "Seed of initialisation and batches (default 1): runs are reproducible from it.", CommandOptionType.SingleValue)]
    public int Seed { get; set; } = 1;

    [Option("--data <FILE>", "Train on this text file (e.g. Tiny Shakespeare) instead of the built-in generated text.", CommandOptionType.SingleValue)]
    public string? Data { get; set; }

    [Option("--out <DIR>", "Save the trained model and the evaluation log here (model.bin, checkpoint.json, log.csv).", CommandOptionType.SingleValue)]
    public string? Out { get; set; }

    [Option("--resume <DIR>", "Start from a checkpoint written by --out (its shape and connection win).", CommandOptionType.SingleValue)]
    public string? Resume { get; set; }

    [Option("--eval-interval <N>", "Steps between held-out evaluations (default 50).", CommandOptionType.SingleValue)]
    [Range(1, 1_000_000)]
    public int EvalInterval { get; set; } = 50;

    [Option("--probe-interval <N>", "Steps between Amax probes (default 50).", CommandOptionType.SingleValue)]
    [Range(1, 1_000_000)]
    public int ProbeInterval { get; set; } = 50;

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
            manual_seed(Seed);
            // On --resume the checkpoint's context decides how long the windows are.
            using var corpus = TextCorpus.Load(Data, Resume is null ? Context : (int)Checkpoint.Peek(Resume).Shape.Context);
            var connection = Enum.Parse<Connection>(ConnectionName, ignoreCase: true);
            Checkpoint? resumed = null;
            nn.Module<Tensor, Tensor> model;
            if (Resume is not null)
            {
                (resumed, model) = Checkpoint.Load(Resume);
                if (resumed.Alphabet != corpus.Tokenizer.Alphabet)
                    throw new InvalidDataException("--resume: the checkpoint was trained on text with a different alphabet than this --data.");
                connection = resumed.Connection;
            }
            else
            {
                model = ModelFactory.Create(connection, new ModelShape(corpus.Tokenizer.VocabularySize, Context, Layers, Width, Heads));
            }

            using (model)
            {
                var shape = resumed?.Shape ?? new ModelShape(corpus.Tokenizer.VocabularySize, Context, Layers, Width, Heads);
                if (Generate > 0)
                    corpus.Tokenizer.Encode(Prompt); // a prompt the text cannot spell fails now, not after training
                console.WriteLine($"GPT with {connection} connections: {shape.Layers} layers, width {shape.Width}, {shape.Heads} heads, context {shape.Context}, " +
                                  $"{model.parameters().Sum(p => p.numel()):N0} parameters; {corpus.Source}, {corpus.Train.numel() + corpus.Validation.numel():N0} characters.");
                var run = new TrainingRun(model, corpus, shape.Context,
                    new TrainingSettings(Steps, Batch, LearningRate, EvalInterval, ProbeInterval, (ulong)Seed), console.Out);
                run.Run();

                if (Out is not null)
                {
                    new Checkpoint(connection, shape, corpus.Tokenizer.Alphabet, (resumed?.Steps ?? 0) + Steps).Save(Out, model);
                    File.WriteAllText(Path.Combine(Out, "log.csv"), TrainingLog.ToCsv(run.History));
                    console.WriteLine($"saved to {Out} (model.bin, checkpoint.json, log.csv)");
                }
                if (Generate > 0)
                    console.WriteLine("--- sample ---\n" + Sampler.Generate(model, corpus.Tokenizer, Prompt, Generate, shape.Context, 0.8, (ulong)Seed));
            }
            return 0;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}
