using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.Diagnostics;
using Mhc.Analyzers;

namespace Mhc.Tool.Conversion;

/// <summary>
/// The analyzers and code fixes of Mhc.Analyzers, hosted by the tool itself: the same rules the IDE
/// shows, so the command line and the editor always agree.
/// </summary>
internal sealed class MhcRules
{
    private MhcRules(ImmutableArray<DiagnosticAnalyzer> analyzers, ImmutableArray<CodeFixProvider> fixers)
    {
        Analyzers = analyzers;
        Fixers = fixers;
    }

    public ImmutableArray<DiagnosticAnalyzer> Analyzers { get; }

    public ImmutableArray<CodeFixProvider> Fixers { get; }

    public static MhcRules Load()
    {
        static IEnumerable<T> Instances<T>(Assembly assembly, Type exportAttribute) => assembly.GetTypes()
            .Where(t => !t.IsAbstract && typeof(T).IsAssignableFrom(t) && t.GetCustomAttributes(exportAttribute, inherit: false).Length > 0)
            .OrderBy(t => t.FullName, StringComparer.Ordinal)
            .Select(t => (T)Activator.CreateInstance(t, nonPublic: true)!);

        return new MhcRules(
            Instances<DiagnosticAnalyzer>(typeof(RuleIdentifiers).Assembly, typeof(DiagnosticAnalyzerAttribute)).ToImmutableArray(),
            Instances<CodeFixProvider>(typeof(ConvertToHyperConnectionsFixer).Assembly, typeof(ExportCodeFixProviderAttribute)).ToImmutableArray());
    }

    /// <summary>Every Mhc diagnostic of a project, sorted by file and position.</summary>
    public async Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Project project, CancellationToken cancellationToken)
    {
        var compilation = await project.GetCompilationAsync(cancellationToken).ConfigureAwait(false);
        if (compilation is null) return [];
        var withAnalyzers = compilation.WithAnalyzers(Analyzers, project.AnalyzerOptions);
        var diagnostics = await withAnalyzers.GetAnalyzerDiagnosticsAsync(cancellationToken).ConfigureAwait(false);
        return diagnostics
            .Where(d => d.Id.StartsWith("MHC", StringComparison.Ordinal))
            .OrderBy(d => d.Location.SourceTree?.FilePath, StringComparer.Ordinal)
            .ThenBy(d => d.Location.SourceSpan.Start)
            .ToImmutableArray();
    }

    /// <summary>True when the project defines at least one TorchSharp module.</summary>
    public static async Task<bool> HasTorchSharpModulesAsync(Project project, CancellationToken cancellationToken)
    {
        var compilation = await project.GetCompilationAsync(cancellationToken).ConfigureAwait(false);
        var module = compilation?.GetTypeByMetadataName("TorchSharp.torch+nn+Module");
        if (compilation is null || module is null) return false;
        return compilation.GetSymbolsWithName(_ => true, SymbolFilter.Type, cancellationToken)
            .OfType<INamedTypeSymbol>()
            .Any(type => InheritsFrom(type, module));
    }

    private static bool InheritsFrom(INamedTypeSymbol type, INamedTypeSymbol module)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, module)) return true;
        return false;
    }
}
