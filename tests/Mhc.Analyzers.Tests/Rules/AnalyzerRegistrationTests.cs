using System.Collections.Immutable;
using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Mhc.Analyzers.Tests.Rules;

/// <summary>
/// The analyzers resolve TorchSharp (and Mhc.Runtime) once per compilation and register no per-node work at
/// all in projects without them, so ordinary code pays nothing in the IDE.
/// </summary>
public class AnalyzerRegistrationTests
{
    public static TheoryData<string, bool, bool, int> Cases() => new()
    {
        { nameof(ResidualConnectionAnalyzer), false, false, 0 },
        { nameof(ResidualConnectionAnalyzer), true, false, 1 },
        { nameof(StreamShapeAnalyzer), true, false, 0 },
        { nameof(StreamShapeAnalyzer), true, true, 1 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Per_node_actions_are_registered_only_when_the_libraries_are_referenced(string analyzer, bool torchSharp, bool runtime, int expected)
    {
        var references = References.Framework;
        if (torchSharp)
        {
            references = references.Add(References.TorchSharp);
        }

        if (runtime)
        {
            references = references.Add(MhcRuntime.Reference);
        }

        var compilation = CSharpCompilation.Create("Probe", [CSharpSyntaxTree.ParseText("class C { }")], references);
        DiagnosticAnalyzer instance = analyzer == nameof(ResidualConnectionAnalyzer) ? new ResidualConnectionAnalyzer() : new StreamShapeAnalyzer();
        var context = new RecordingContext();
        instance.Initialize(context);

        var start = Assert.Single(context.CompilationStartActions);
        var startContext = new RecordingStartContext(compilation);
        start(startContext);

        Assert.Equal(expected, startContext.SyntaxNodeActions);
    }

    private sealed class RecordingContext : AnalysisContext
    {
        public List<Action<CompilationStartAnalysisContext>> CompilationStartActions { get; } = [];

        public override void RegisterCompilationStartAction(Action<CompilationStartAnalysisContext> action) => CompilationStartActions.Add(action);

        public override void EnableConcurrentExecution()
        {
        }

        public override void ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags analysisMode)
        {
        }

        public override void RegisterCodeBlockAction(Action<CodeBlockAnalysisContext> action) => throw new NotSupportedException();

        public override void RegisterCodeBlockStartAction<TLanguageKindEnum>(Action<CodeBlockStartAnalysisContext<TLanguageKindEnum>> action) => throw new NotSupportedException();

        public override void RegisterCompilationAction(Action<CompilationAnalysisContext> action) => throw new NotSupportedException();

        public override void RegisterSemanticModelAction(Action<SemanticModelAnalysisContext> action) => throw new NotSupportedException();

        public override void RegisterSymbolAction(Action<SymbolAnalysisContext> action, ImmutableArray<SymbolKind> symbolKinds) => throw new NotSupportedException();

        public override void RegisterSyntaxNodeAction<TLanguageKindEnum>(Action<SyntaxNodeAnalysisContext> action, ImmutableArray<TLanguageKindEnum> syntaxKinds) => throw new NotSupportedException();

        public override void RegisterSyntaxTreeAction(Action<SyntaxTreeAnalysisContext> action) => throw new NotSupportedException();
    }

    private sealed class RecordingStartContext(Compilation compilation)
        : CompilationStartAnalysisContext(compilation, new AnalyzerOptions([]), CancellationToken.None)
    {
        public int SyntaxNodeActions { get; private set; }

        public override void RegisterSyntaxNodeAction<TLanguageKindEnum>(Action<SyntaxNodeAnalysisContext> action, ImmutableArray<TLanguageKindEnum> syntaxKinds) => SyntaxNodeActions++;

        public override void RegisterCodeBlockAction(Action<CodeBlockAnalysisContext> action) => throw new NotSupportedException();

        public override void RegisterCodeBlockStartAction<TLanguageKindEnum>(Action<CodeBlockStartAnalysisContext<TLanguageKindEnum>> action) => throw new NotSupportedException();

        public override void RegisterCompilationEndAction(Action<CompilationAnalysisContext> action) => throw new NotSupportedException();

        public override void RegisterSemanticModelAction(Action<SemanticModelAnalysisContext> action) => throw new NotSupportedException();

        public override void RegisterSymbolAction(Action<SymbolAnalysisContext> action, ImmutableArray<SymbolKind> symbolKinds) => throw new NotSupportedException();

        public override void RegisterSyntaxTreeAction(Action<SyntaxTreeAnalysisContext> action) => throw new NotSupportedException();
    }
}
