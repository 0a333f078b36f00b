using static TorchSharp.torch;

namespace Gpt.Trainer.Corpus;

/// <summary>A tokenized text split into a training part and a held-out part (the last tenth).</summary>
public sealed class TextCorpus : IDisposable
{
    private TextCorpus(string source, CharTokenizer tokenizer, Tensor train, Tensor validation)
    {
        Source = source;
        Tokenizer = tokenizer;
        Train = train;
        Validation = validation;
    }

    public string Source { get; }

    /// <summary>Where the text came from and how long it is, for logs and reports.</summary>
    public string Description => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{Source} ({Train.numel() + Validation.numel():N0} characters)");
    public CharTokenizer Tokenizer { get; }
    public Tensor Train { get; }
    public Tensor Validation { get; }

    public static TextCorpus Load(string? path, int minimumLength)
    {
        string text, source;
        if (path is null)
        {
            text = GeneratedText.Generate();
            source = "built-in generated text";
        }
        else
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"--data: '{path}' does not exist. Pass a UTF-8 text file, e.g. Tiny Shakespeare.", path);
            text = File.ReadAllText(path);
            source = Path.GetFileName(path);
        }
        // The held-out tenth must hold at least one window of context + 1 characters.
        int needed = (minimumLength + 2) * 10;
        if (text.Length < needed)
            throw new InvalidDataException($"{source} has {text.Length} characters; training with a context of {minimumLength} needs at least {needed}.");

        var tokenizer = new CharTokenizer(text);
        var ids = tokenizer.Encode(text);
        int split = (int)(ids.Length * 0.9);
        return new TextCorpus(source, tokenizer, tensor(ids[..split]), tensor(ids[split..]));
    }

    /// <summary>Random windows: inputs [batch, context] and the same windows shifted by one as targets.</summary>
    public (Tensor Input, Tensor Target) Batch(Tensor data, int batch, long context, Generator generator)
    {
        // A window and its shifted target span context + 1 characters; randint's bound is exclusive.
        using var starts = randint(0, data.shape[0] - context, new long[] { batch }, generator: generator);
        using var offsets = arange(context);
        using var index = starts.unsqueeze(1) + offsets.unsqueeze(0);
        return (data[index], data[index + 1]);
    }

    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
    }
}
