using System.Text;
using McMaster.Extensions.CommandLineUtils;

namespace Mhc.Tool.Tests;

/// <summary>Captures what a command writes.</summary>
internal sealed class TestConsole : IConsole
{
    private readonly StringWriter _out = new(), _error = new();

    public string Output => _out.ToString();
    public string ErrorOutput => _error.ToString();

    public TextWriter Out => _out;
    public TextWriter Error => _error;
    public TextReader In => TextReader.Null;
    public bool IsInputRedirected => true;
    public bool IsOutputRedirected => true;
    public bool IsErrorRedirected => true;
    public ConsoleColor ForegroundColor { get; set; }
    public ConsoleColor BackgroundColor { get; set; }
#pragma warning disable CS0067 // required by the interface; a test console is never cancelled by Ctrl+C
    public event ConsoleCancelEventHandler? CancelKeyPress;
#pragma warning restore CS0067
    public void ResetColor() { }

    public static async Task<(int ExitCode, TestConsole Console)> RunAsync(params string[] args)
    {
        var console = new TestConsole();
        int code = await Program.RunAsync(console, args);
        return (code, console);
    }
}
