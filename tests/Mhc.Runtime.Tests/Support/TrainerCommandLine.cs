using Gpt.Trainer;
using McMaster.Extensions.CommandLineUtils;

namespace Mhc.Runtime.Tests.Support;

/// <summary>Runs the sample trainer's command line in process, capturing what it prints.</summary>
internal static class TrainerCommandLine
{
    public static (int Exit, string Out, string Error) Run(params string[] args)
    {
        var console = new CapturedConsole();
        int exit = CommandLineApplication.Execute<Program>(console, args);
        return (exit, console.Out.ToString()!, console.Error.ToString()!);
    }

    private sealed class CapturedConsole : IConsole
    {
        public TextWriter Out { get; } = new StringWriter();
        public TextWriter Error { get; } = new StringWriter();
        public TextReader In { get; } = new StringReader("");
        public bool IsInputRedirected => true;
        public bool IsOutputRedirected => true;
        public bool IsErrorRedirected => true;
        public ConsoleColor ForegroundColor { get; set; }
        public ConsoleColor BackgroundColor { get; set; }
        public event ConsoleCancelEventHandler? CancelKeyPress { add { } remove { } }
        public void ResetColor() { }
    }
}
