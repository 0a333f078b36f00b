using System.Diagnostics;

namespace Mhc.Tool.Loading;

/// <summary>How a <c>dotnet restore</c> went: its error lines when it failed.</summary>
internal sealed record RestoreResult(bool Succeeded, IReadOnlyList<string> Errors);

/// <summary>
/// Runs <c>dotnet restore</c>: before loading, because an unrestored project compiles with no package
/// references and hundreds of errors, which would make every analysis meaningless; after a conversion
/// that added package references, to see that the converted project restores as it is.
/// </summary>
internal static class Restorer
{
    /// <summary>Restores the input before loading it; a failure stops the command (exit code 5).</summary>
    public static async Task RestoreAsync(InputPath input, CancellationToken cancellationToken)
    {
        var result = await RunAsync(input, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
            throw new ToolException(ExitCodes.ProjectLoadFailed,
                $"'{Path.GetFileName(input.FullPath)}' did not restore; fix these and try again:{Environment.NewLine}  " +
                string.Join(Environment.NewLine + "  ", result.Errors));
    }

    public static async Task<RestoreResult> RunAsync(InputPath input, CancellationToken cancellationToken)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // The input's own global.json picks the SDK, as it would for the user's own build.
            WorkingDirectory = Path.GetDirectoryName(input.FullPath)!,
        };
        start.ArgumentList.Add("restore");
        start.ArgumentList.Add(input.FullPath);
        start.ArgumentList.Add("--nologo");
        start.ArgumentList.Add("-v:q");
        using var process = Process.Start(start)
            ?? throw new ToolException(ExitCodes.ProjectLoadFailed, "could not start 'dotnet restore'.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode == 0) return new RestoreResult(true, []);
        var lines = ((await output.ConfigureAwait(false)) + (await errors.ConfigureAwait(false)))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase))
            .Distinct()
            .Take(10)
            .ToList();
        return new RestoreResult(false, lines);
    }
}
