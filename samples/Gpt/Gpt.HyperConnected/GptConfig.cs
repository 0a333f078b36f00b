namespace Gpt.HyperConnected;

/// <summary>Sizes of a GPT: vocabulary, context length, depth and width.</summary>
public sealed record GptConfig
{
    public long VocabSize { get; init; } = 65;
    public long BlockSize { get; init; } = 64;
    public int NLayer { get; init; } = 4;
    public long NHead { get; init; } = 4;
    public long NEmbd { get; init; } = 128;
    public double Dropout { get; init; } = 0.0;
}
