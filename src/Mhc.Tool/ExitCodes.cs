namespace Mhc.Tool;

/// <summary>Process exit codes, in the style of dotnet-format. Stable: scripts depend on them.</summary>
public static class ExitCodes
{
    /// <summary>Done; nothing failed.</summary>
    public const int Success = 0;
    /// <summary>An unexpected error (a bug): the message says what happened.</summary>
    public const int UnexpectedError = 1;
    /// <summary><c>--verify-no-changes</c>: the conversion would change files. <c>check</c>: an error diagnostic (stream shapes, declarations) was found.</summary>
    public const int ChangesOrErrorsFound = 2;
    /// <summary>No .NET SDK with MSBuild was found.</summary>
    public const int MSBuildNotFound = 3;
    /// <summary>Bad input: the path is missing or is not a project, a solution or a folder holding one; a bad option value; a missing command.</summary>
    public const int InvalidInput = 4;
    /// <summary>A project did not restore, load or compile.</summary>
    public const int ProjectLoadFailed = 5;
    /// <summary>No TorchSharp module was found in the input.</summary>
    public const int NothingToConvert = 6;
    /// <summary>Writing the converted files failed; every file was restored as it was.</summary>
    public const int WriteFailed = 7;
    /// <summary><c>convert</c> wrote the converted files, but the converted project does not restore as it is (a package source is missing): the message says what to run.</summary>
    public const int WrittenButDoesNotRestore = 8;
}

/// <summary>A failure with a message for the user and the exit code it maps to.</summary>
public sealed class ToolException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
