namespace Mhc.Benchmarks.Gpt;

/// <summary>The sizes of one GPT measured, and of the batches it trains on.</summary>
internal sealed record GptShape(string Name, int Layers, long Width, long Heads, long Context, long Batch)
{
    public const long Vocabulary = 65; // the trainer's character set

    public long Tokens => Batch * Context;

    /// <summary>The sizes in a table column's width.</summary>
    public string Compact => $"L={Layers} C={Width} T={Context} B={Batch}";

    public override string ToString() =>
        $"{Name}: {Layers} layers, width {Width}, {Heads} heads, context {Context}, batch {Batch} ({Tokens} tokens/step)";
}
