using System.Runtime.CompilerServices;
using McMaster.Extensions.CommandLineUtils;
using Microsoft.Build.Locator;
using Mhc.Tool.Commands;

namespace Mhc.Tool;

public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        // Must run before any type from Microsoft.Build is loaded, hence the separate method below.
        if (!TryRegisterMSBuild(InputDirectory(args), out var error))
        {
            Console.Error.WriteLine($"error: {error}");
            return ExitCodes.MSBuildNotFound;
        }
        return await RunAsync(PhysicalConsole.Singleton, args).ConfigureAwait(false);
    }

    /// <summary>The commands' options that take a value (the next argument, or after '='); a test keeps it in step with the commands.</summary>
    internal static readonly IReadOnlySet<string> OptionsWithValues = new HashSet<string>(StringComparer.Ordinal)
        { "--streams", "--iterations", "--report", "--include", "--exclude", "--package-source", "--channels" };

    /// <summary>
    /// The folder of the project or solution the command names (its positional argument, read before the
    /// command line is parsed), else the current folder: where the SDK that builds the input is resolved.
    /// </summary>
    internal static string InputDirectory(IReadOnlyList<string> args)
    {
        for (int i = 1; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith('-'))
            {
                if (OptionsWithValues.Contains(arg)) i++;
                continue;
            }
            var full = Path.GetFullPath(arg);
            if (Directory.Exists(full)) return full;
            if (File.Exists(full)) return Path.GetDirectoryName(full)!;
            break;
        }
        return Directory.GetCurrentDirectory();
    }

    /// <param name="inputDirectory">
    /// Where to resolve the SDK: the one a global.json there selects (as <c>dotnet build</c> in that folder
    /// would use), else the newest installed.
    /// </param>
    internal static bool TryRegisterMSBuild(string inputDirectory, out string? error)
    {
        error = null;
        if (MSBuildLocator.IsRegistered) return true;
        var resolved = MSBuildLocator.QueryVisualStudioInstances(new VisualStudioInstanceQueryOptions
        {
            DiscoveryTypes = DiscoveryType.DotNetSdk,
            WorkingDirectory = inputDirectory,
        }).FirstOrDefault();
        var instance = resolved ?? MSBuildLocator.QueryVisualStudioInstances().OrderByDescending(i => i.Version).FirstOrDefault();
        if (instance is null)
        {
            error = "no .NET SDK was found. Install the .NET SDK (10.0 or later) and make sure 'dotnet' is on PATH.";
            return false;
        }
        MSBuildLocator.RegisterInstance(instance);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static Task<int> RunAsync(IConsole console, string[] args)
    {
        using var app = new CommandLineApplication<MhcCommand>(console);
        app.Conventions.UseDefaultConventions();
        // Bad values ([Range]) and unknown options are the user's input, not a bug: exit code 4, not 1.
        app.ValidationErrorHandler = result =>
        {
            console.Error.WriteLine($"error: {result.ErrorMessage}");
            return ExitCodes.InvalidInput;
        };
        foreach (var command in app.Commands)
            command.ValidationErrorHandler = app.ValidationErrorHandler;
        try
        {
            return Task.FromResult(app.Execute(args));
        }
        catch (CommandParsingException e)
        {
            console.Error.WriteLine($"error: {e.Message} (see --help)");
            return Task.FromResult(ExitCodes.InvalidInput);
        }
    }
}
