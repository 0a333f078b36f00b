using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>Shared set-up: framework and TorchSharp references from the host, plus the real Mhc.Runtime.</summary>
internal static class TestSetup
{
    public static void Configure(SolutionState state, bool withRuntime)
    {
        state.AdditionalReferences.AddRange(References.Framework);
        state.AdditionalReferences.Add(References.TorchSharp);
        if (withRuntime)
        {
            state.AdditionalReferences.Add(MhcRuntime.Reference);
        }
    }

    /// <summary>The usings every TorchSharp test source starts with.</summary>
    public const string Usings = """
        using TorchSharp;
        using TorchSharp.Modules;
        using static TorchSharp.torch;
        using static TorchSharp.torch.nn;

        """;
}

public sealed class MhcAnalyzerTest<TAnalyzer> : CSharpAnalyzerTest<TAnalyzer, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
{
    private readonly bool _withGenerator;

    /// <param name="withGenerator">Runs the generator too, for sources that use what it emits (converted models).</param>
    public MhcAnalyzerTest(string source, bool withRuntime = true, bool withGenerator = false)
    {
        _withGenerator = withGenerator;
        if (withGenerator)
        {
            TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
        }

        ReferenceAssemblies = References.None;
        TestState.Sources.Add(source);
        TestSetup.Configure(TestState, withRuntime);
    }

    protected override IEnumerable<Type> GetSourceGenerators() => _withGenerator ? [typeof(HyperConnectionGenerator)] : [];

    protected override ParseOptions CreateParseOptions()
        => ((CSharpParseOptions)base.CreateParseOptions()).WithLanguageVersion(LanguageVersion.CSharp12);
}

/// <summary>
/// Code fix test that also runs the generator, so the fixed code must compile against what the generator
/// emits for it (the generated text itself is snapshot-tested in the generator tests).
/// </summary>
public sealed class MhcCodeFixTest<TAnalyzer, TFixer> : CSharpCodeFixTest<TAnalyzer, TFixer, DefaultVerifier>
    where TAnalyzer : DiagnosticAnalyzer, new()
    where TFixer : CodeFixProvider, new()
{
    public MhcCodeFixTest(bool withRuntime = true)
    {
        ReferenceAssemblies = References.None;
        TestSetup.Configure(TestState, withRuntime);
        TestBehaviors |= TestBehaviors.SkipGeneratedSourcesCheck;
    }

    protected override IEnumerable<Type> GetSourceGenerators() => [typeof(HyperConnectionGenerator)];

    protected override ParseOptions CreateParseOptions()
        => ((CSharpParseOptions)base.CreateParseOptions()).WithLanguageVersion(LanguageVersion.CSharp12);
}
