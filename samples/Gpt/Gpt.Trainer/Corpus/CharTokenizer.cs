namespace Gpt.Trainer.Corpus;

/// <summary>Character-level tokenizer: one id per distinct character of the training text.</summary>
public sealed class CharTokenizer
{
    private readonly char[] _alphabet;
    private readonly Dictionary<char, long> _ids;

    public CharTokenizer(IEnumerable<char> alphabet)
    {
        _alphabet = alphabet.Distinct().Order().ToArray();
        if (_alphabet.Length == 0) throw new ArgumentException("The text has no characters.", nameof(alphabet));
        _ids = _alphabet.Select((c, i) => (c, (long)i)).ToDictionary(p => p.c, p => p.Item2);
    }

    public int VocabularySize => _alphabet.Length;

    public string Alphabet => new(_alphabet);

    public long[] Encode(string text) => text.Select(c => _ids.TryGetValue(c, out var id)
        ? id
        : throw new ArgumentException($"The character '{c}' (U+{(int)c:X4}) is not in the tokenizer's alphabet.", nameof(text))).ToArray();

    public string Decode(IEnumerable<long> ids) => new(ids.Select(i => _alphabet[i]).ToArray());
}
