using Microsoft.CodeAnalysis;

namespace Mhc.Tool.Reporting;

/// <summary>Diagnostics in the compiler's own form, <c>file(line,col): severity ID: message</c>, so editors and CI parse them.</summary>
internal static class DiagnosticFormatter
{
    public static string Format(Diagnostic diagnostic)
    {
        var span = diagnostic.Location.GetLineSpan();
        var where = span.IsValid
            ? $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1}): "
            : "";
        return $"{where}{diagnostic.Severity.ToString().ToLowerInvariant()} {diagnostic.Id}: {diagnostic.GetMessage()}";
    }
}
