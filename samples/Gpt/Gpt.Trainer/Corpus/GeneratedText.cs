using System.Text;

namespace Gpt.Trainer.Corpus;

/// <summary>
/// The trainer's built-in corpus: short English sentences from a small grammar, generated from a seed,
/// so training needs no download and a model has real structure (spelling, agreement, punctuation) to learn.
/// </summary>
public static class GeneratedText
{
    private static readonly string[] Subjects = ["the king", "a sailor", "the old queen", "my brother", "the fool", "a young knight", "the merchant", "her daughter"];
    private static readonly string[] Verbs = ["loves", "fears", "follows", "remembers", "betrays", "defends", "forgets", "awaits"];
    private static readonly string[] Objects = ["the crown", "a letter", "the sea", "his father", "the stranger", "an honest friend", "the night", "the castle gate"];
    private static readonly string[] Endings = ["at dawn", "in silence", "without a word", "for a thousand years", "under the moon", "with all his heart"];
    private static readonly string[] Speakers = ["KING", "QUEEN", "FOOL", "SAILOR", "KNIGHT"];

    public static string Generate(int characters = 200_000, int seed = 1)
    {
        var random = new Random(seed);
        var text = new StringBuilder(characters + 200);
        while (text.Length < characters)
        {
            text.Append(Speakers[random.Next(Speakers.Length)]).Append(":\n");
            int sentences = 1 + random.Next(3);
            for (int s = 0; s < sentences; s++)
            {
                var sentence = $"{Pick(random, Subjects)} {Pick(random, Verbs)} {Pick(random, Objects)}" +
                               (random.Next(2) == 0 ? " " + Pick(random, Endings) : "");
                text.Append(char.ToUpperInvariant(sentence[0])).Append(sentence, 1, sentence.Length - 1)
                    .Append(random.Next(4) == 0 ? "!" : ".").Append(s == sentences - 1 ? "\n\n" : " ");
            }
        }
        return text.ToString(0, characters);
    }

    private static string Pick(Random random, string[] words) => words[random.Next(words.Length)];
}
