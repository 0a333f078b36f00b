using System.ComponentModel.DataAnnotations;
using McMaster.Extensions.CommandLineUtils;

namespace Gpt.Trainer;

/// <summary>
/// The options every training command shares: the text, the GPT's sizes, the optimiser and how often to
/// evaluate and probe. Commands set their own defaults and list them in their help.
/// </summary>
public abstract class TrainingOptions
{
    [Option("--data <FILE>", "Text to train on, e.g. Tiny Shakespeare (default: the built-in generated text).", CommandOptionType.SingleValue)]
    public string? Data { get; set; }

    [Option("--steps <N>", "Training steps per run.", CommandOptionType.SingleValue)]
    [Range(1, 10_000_000)]
    public int Steps { get; set; }

    [Option("--streams <N>", "Streams of HC and mHC (default: the count the converted GPT was built with, MhcStreams).", CommandOptionType.SingleValue)]
    [Range(1, 64)]
    public int? Streams { get; set; }

    [Option("--layers <N>", "Transformer blocks.", CommandOptionType.SingleValue)]
    [Range(1, 256)]
    public int Layers { get; set; }

    [Option("--width <C>", "Embedding width.", CommandOptionType.SingleValue)]
    [Range(8, 16384)]
    public int Width { get; set; } = 128;

    [Option("--heads <N>", "Attention heads.", CommandOptionType.SingleValue)]
    [Range(1, 256)]
    public int Heads { get; set; } = 4;

    [Option("--context <T>", "Context length in characters.", CommandOptionType.SingleValue)]
    [Range(2, 8192)]
    public int Context { get; set; } = 64;

    [Option("--batch <B>", "Sequences per step.", CommandOptionType.SingleValue)]
    [Range(1, 4096)]
    public int Batch { get; set; } = 16;

    [Option("--lr <RATE>", "AdamW learning rate.", CommandOptionType.SingleValue)]
    [Range(1e-9, 10.0)]
    public double LearningRate { get; set; } = 1e-3;

    [Option("--eval-interval <N>", "Steps between held-out evaluations.", CommandOptionType.SingleValue)]
    [Range(1, 1_000_000)]
    public int EvalInterval { get; set; } = 50;

    [Option("--probe-interval <N>", "Steps between Amax probes.", CommandOptionType.SingleValue)]
    [Range(1, 1_000_000)]
    public int ProbeInterval { get; set; } = 50;
}
