using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>
/// Model sources compiled in memory the way the end-to-end tests build them: C# 12, nullable enabled, the
/// framework, TorchSharp and the real Mhc.Runtime referenced; converted sources with the generator run.
/// </summary>
internal static class InMemoryCompilation
{
    public static CSharpParseOptions ParseOptions { get; } = new(LanguageVersion.CSharp12);

    public static CSharpCompilationOptions Options { get; } =
        new(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable);

    public static ImmutableArray<MetadataReference> References { get; } =
        Infrastructure.References.Framework.Add(Infrastructure.References.TorchSharp).Add(MhcRuntime.Reference);

    /// <param name="withGenerator">Runs the hyper-connection generator, as a converted model needs.</param>
    public static Compilation Create(string source, bool withGenerator, string path = "Model.cs")
    {
        Compilation compilation = CSharpCompilation.Create(
            "Model" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, ParseOptions, path)],
            References,
            Options);
        if (withGenerator)
        {
            CSharpGeneratorDriver.Create([new HyperConnectionGenerator().AsSourceGenerator()], parseOptions: ParseOptions)
                .RunGeneratorsAndUpdateCompilation(compilation, out compilation, out _);
        }

        return compilation;
    }

    /// <summary>The assembly image; fails the test with the compiler's errors when there are any.</summary>
    public static byte[] Emit(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        Assert.True(result.Success, "compilation failed:\n" + string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return stream.ToArray();
    }

    public static Task<ImmutableArray<Diagnostic>> AnalyzeAsync(Compilation compilation, params DiagnosticAnalyzer[] analyzers)
        => compilation.WithAnalyzers([.. analyzers]).GetAnalyzerDiagnosticsAsync();
}
