using McMaster.Extensions.CommandLineUtils;
using Mhc.Tool.Conversion;
using Mhc.Tool.Loading;

namespace Mhc.Tool.Commands;

/// <summary>What every command over a project shares: the input, restore, file filters, progress and error handling.</summary>
internal abstract class ProjectCommand
{
    [Argument(0, "path", "A C# project (.csproj), a solution (.sln, .slnx), or a folder holding exactly one.")]
    public string Path { get; set; } = "";

    [Option("--include <GLOB>", "Only sites in files matching this glob (relative to the project or solution folder). Repeatable.", CommandOptionType.MultipleValue)]
    public string[] Include { get; set; } = [];

    [Option("--exclude <GLOB>", "Skip sites in files matching this glob. Repeatable.", CommandOptionType.MultipleValue)]
    public string[] Exclude { get; set; } = [];

    [Option("--library", "Convert blocks that no model of the project stacks (a block library): Expand and Reduce are left to the code that stacks them. As MhcLibrary=true in the project.", CommandOptionType.NoValue)]
    public bool Library { get; set; }

    [Option("--channels <BLOCK_WIDTH>", "Block=Width: the channel width of a block whose modules do not tell it, as an expression valid in its constructors (DecoderLayer=config.HiddenSize). As mhc_channels.<Block> in .editorconfig. Repeatable.", CommandOptionType.MultipleValue)]
    public string[] Channels { get; set; } = [];

    [Option("--no-restore", "Do not run 'dotnet restore': the input must already be restored (convert then does not check that the converted project restores either).", CommandOptionType.NoValue)]
    public bool NoRestore { get; set; }

    [Option("-q|--quiet", "Do not print progress.", CommandOptionType.NoValue)]
    public bool Quiet { get; set; }

    public async Task<int> OnExecuteAsync(IConsole console)
    {
        // McMaster 2.3 passes no cancellation token. Everything before the final write only reads, and
        // the write itself replaces files one rename at a time after all new texts are on disk.
        var cancellationToken = CancellationToken.None;
        try
        {
            return await ExecuteAsync(console, new ConsoleProgress(console, Quiet), cancellationToken).ConfigureAwait(false);
        }
        catch (ToolException e)
        {
            console.Error.WriteLine($"error: {e.Message}");
            return e.ExitCode;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            console.Error.WriteLine($"error: unexpected failure, please report it: {e}");
            return ExitCodes.UnexpectedError;
        }
    }

    /// <summary>Runs the command; a <see cref="ToolException"/> becomes its message and exit code.</summary>
    protected abstract Task<int> ExecuteAsync(IConsole console, IProgressReporter progress, CancellationToken cancellationToken);

    protected Task<LoadedInput> LoadAsync(IProgressReporter progress, CancellationToken cancellationToken) =>
        LoadedInput.LoadAsync(InputPath.Resolve(Path), !NoRestore, Analysis, progress, cancellationToken);

    /// <summary>The analyzers' options set on the command line (parsed before anything loads, so a bad one fails fast).</summary>
    protected AnalysisOptions Analysis => AnalysisOptions.Parse(Library, Channels);

    protected SiteFilter Filter(LoadedInput loaded) => new(loaded.Root, Include, Exclude);
}

/// <summary>Progress on standard error, so standard output stays clean for diffs and summaries.</summary>
internal sealed class ConsoleProgress(IConsole console, bool quiet) : IProgressReporter
{
    public void Status(string message)
    {
        if (!quiet) console.Error.WriteLine($"  {message}…");
    }
}
