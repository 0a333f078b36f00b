using System.Text;

namespace Mhc.Demo;

/// <summary>
/// The demo's built-in training text: lines of two-digit additions ("37+5=42"), generated from a seed,
/// so the demo needs no download and its loss has structure to learn.
/// </summary>
public static class DemoCorpus
{
    public static string Generate(int lines, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder(lines * 9);
        for (int i = 0; i < lines; i++)
        {
            int a = random.Next(100), b = random.Next(100);
            text.Append(a).Append('+').Append(b).Append('=').Append(a + b).Append('\n');
        }
        return text.ToString();
    }
}
