using System.Diagnostics;

namespace Mhc.Tool.Tests;

/// <summary>Runs a command to completion and returns its exit code and combined output.</summary>
internal static class ProcessRunner
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true); // a hung build must not outlive the test
            throw new TimeoutException($"`{fileName} {string.Join(' ', arguments)}` did not finish in 5 minutes.");
        }
        return (process.ExitCode, await output + await error);
    }

    public static async Task<string> RunOrFailAsync(string fileName, string workingDirectory, params string[] arguments)
    {
        var (code, output) = await RunAsync(fileName, workingDirectory, arguments);
        Assert.True(code == 0, $"`{fileName} {string.Join(' ', arguments)}` exited with {code}:\n{output}");
        return output;
    }
}
