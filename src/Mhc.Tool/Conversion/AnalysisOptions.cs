using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Mhc.Tool.Conversion;

/// <summary>
/// The analyzers' options the command line sets for one run, as the MSBuild property and the .editorconfig key a
/// user would write: <c>--library</c> is <c>MhcLibrary</c>, <c>--channels Block=expr</c> is <c>mhc_channels.Block</c>.
/// They reach the hosted analyzers and code fix through a global analyzer config added to each project in memory
/// only; nothing is written to the user's files.
/// </summary>
internal sealed record AnalysisOptions(bool Library, IReadOnlyDictionary<string, string> Channels)
{
    public static readonly AnalysisOptions None = new(false, new Dictionary<string, string>());

    /// <summary>Reads <c>--channels</c> values (<c>Block=config.HiddenSize</c>); a malformed one is the user's input error.</summary>
    public static AnalysisOptions Parse(bool library, IEnumerable<string> channels)
    {
        var widths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in channels)
        {
            var split = value.IndexOf('=');
            var block = split > 0 ? value[..split].Trim() : "";
            var width = split > 0 ? value[(split + 1)..].Trim() : "";
            if (block.Length == 0 || width.Length == 0 || !SyntaxFacts.IsValidIdentifier(block))
                throw new ToolException(ExitCodes.InvalidInput,
                    $"--channels '{value}' is not <Block>=<width expression>: name the block class and an expression valid in its constructors, e.g. --channels DecoderLayer=config.HiddenSize");
            widths[block] = width;
        }
        return new AnalysisOptions(library, widths);
    }

    /// <summary>The projects with these options visible to the analyzers, or the solution as it was when none is set.</summary>
    public Solution ApplyTo(Solution solution, IEnumerable<ProjectId> projects)
    {
        if (!Library && Channels.Count == 0) return solution;
        var text = new StringBuilder("is_global = true\n")
            // Above the project's own global configs, so the command line wins as it should.
            .Append("global_level = 1000\n");
        if (Library) text.Append("build_property.MhcLibrary = true\n");
        foreach (var (block, width) in Channels) text.Append($"mhc_channels.{block} = {width}\n");
        foreach (var id in projects)
        {
            var project = solution.GetProject(id)!;
            var folder = Path.GetDirectoryName(project.FilePath) ?? Path.GetTempPath();
            solution = project.AddAnalyzerConfigDocument(".mhc-command-line.globalconfig", SourceText.From(text.ToString()),
                filePath: Path.Combine(folder, ".mhc-command-line.globalconfig")).Project.Solution;
        }
        return solution;
    }
}
