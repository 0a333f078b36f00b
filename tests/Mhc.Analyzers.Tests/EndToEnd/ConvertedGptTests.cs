using System.Collections.Immutable;
using System.Reflection;
using System.Runtime.Loader;
using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;
using TorchSharp;

namespace Mhc.Analyzers.Tests.EndToEnd;

/// <summary>
/// A small GPT written as ordinary TorchSharp code is converted by the code fix, both versions are compiled
/// in memory (the converted one with the generator) and run, and the converted model, loaded with the
/// original's weights, must compute the same output at init, with the real Mhc.Runtime (mHC connections,
/// fused kernels) loaded beside them.
/// </summary>
public class ConvertedGptTests
{
    [Fact]
    public async Task Converted_gpt_computes_the_original_output_at_init()
    {
        var source = GptSources.WithoutMarkup(GptSources.Original);
        var converted = await ConvertAsync(source);
        Assert.Equal(GptSources.Converted, converted);
        Assert.Contains("[HyperConnected]", converted, StringComparison.Ordinal);
        Assert.Contains("HyperStreams.Expand(x, Block.HyperConnectionStreams)", converted, StringComparison.Ordinal);

        var context = new RuntimeLoadContext();
        var original = Create(context, Compile(source, withGenerator: false));
        var hyper = Create(context, Compile(converted, withGenerator: true));
        try
        {
            // The converted model adds only connection modules, so the original checkpoint loads into it.
            var (missing, unexpected) = hyper.load_state_dict(original.state_dict(), strict: false);
            Assert.Empty(unexpected);
            Assert.All(missing, name => Assert.StartsWith("h.", name, StringComparison.Ordinal));

            // Two connections per block, numbered across the whole model by AssignLayerIndices.
            Assert.Equal(Enumerable.Range(0, 6), LayerIndices(context, hyper));

            original.eval();
            hyper.eval();
            torch.manual_seed(7);
            using var idx = torch.randint(0, 32, [2, 8], dtype: torch.ScalarType.Int64);
            using var expected = original.forward(idx);
            using var actual = hyper.forward(idx);

            Assert.Equal(expected.shape, actual.shape);
            var difference = (expected - actual).abs().max().item<float>();
            Assert.True(difference < 1e-5f, $"max |original - converted| = {difference}");
            Assert.True(expected.abs().max().item<float>() > 1e-3f, "the model output is trivially zero");
        }
        finally
        {
            original.Dispose();
            hyper.Dispose();
        }
    }

    /// <summary>Runs the analyzer, takes its first MHC0001 and applies the code fix as the IDE would.</summary>
    private static async Task<string> ConvertAsync(string source)
    {
        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject(ProjectInfo.Create(
            ProjectId.CreateNewId(), VersionStamp.Default, "Demo", "Demo", LanguageNames.CSharp,
            compilationOptions: new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary),
            parseOptions: new CSharpParseOptions(LanguageVersion.CSharp12),
            metadataReferences: References.Framework.Add(References.TorchSharp).Add(MhcRuntime.Reference)));
        var document = workspace.AddDocument(project.Id, "Gpt.cs", SourceText.From(source));

        var compilation = (await document.Project.GetCompilationAsync())!;
        var diagnostics = await compilation
            .WithAnalyzers(ImmutableArray.Create<DiagnosticAnalyzer>(new ResidualConnectionAnalyzer()))
            .GetAnalyzerDiagnosticsAsync();
        var site = diagnostics.First(d => d.Id == RuleIdentifiers.ResidualConnectionFound);

        var actions = new List<CodeAction>();
        var fixer = new ConvertToHyperConnectionsFixer();
        await fixer.RegisterCodeFixesAsync(new CodeFixContext(document, site, (action, _) => actions.Add(action), CancellationToken.None));
        var operation = (await Assert.Single(actions).GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single();
        var text = await operation.ChangedSolution.GetDocument(document.Id)!.GetTextAsync();
        return text.ToString();
    }

    private static byte[] Compile(string source, bool withGenerator)
    {
        var parseOptions = new CSharpParseOptions(LanguageVersion.CSharp12);
        Compilation compilation = CSharpCompilation.Create(
            "Demo" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(source, parseOptions)],
            References.Framework.Add(References.TorchSharp).Add(MhcRuntime.Reference),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        if (withGenerator)
        {
            CSharpGeneratorDriver.Create([new HyperConnectionGenerator().AsSourceGenerator()], parseOptions: parseOptions)
                .RunGeneratorsAndUpdateCompilation(compilation, out compilation, out _);
        }

        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        Assert.True(result.Success, string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return stream.ToArray();
    }

    private static torch.nn.Module<torch.Tensor, torch.Tensor> Create(AssemblyLoadContext context, byte[] image)
    {
        var assembly = context.LoadFromStream(new MemoryStream(image));
        var create = assembly.GetType("Demo.Gpt")!.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!;

        // Same seed for both models: the converted model's own modules are built after the original ones.
        torch.manual_seed(42);
        return (torch.nn.Module<torch.Tensor, torch.Tensor>)create.Invoke(null, null)!;
    }

    private static IEnumerable<int> LayerIndices(RuntimeLoadContext context, torch.nn.Module model)
    {
        var connections = context.Runtime.GetType("Mhc.Runtime.HyperConnections")!.GetMethod("Find")!.Invoke(null, [model]);
        return ((System.Collections.IEnumerable)connections!).Cast<object>()
            .Select(c => (int)c.GetType().GetProperty("LayerIndex")!.GetValue(c)!)
            .ToList();
    }

    /// <summary>Loads Mhc.Runtime for the compiled models; TorchSharp comes from the test's own context.</summary>
    private sealed class RuntimeLoadContext : AssemblyLoadContext
    {
        private Assembly? _runtime;

        public Assembly Runtime => _runtime ??= LoadFromStream(new MemoryStream(MhcRuntime.Image));

        protected override Assembly? Load(AssemblyName assemblyName) => assemblyName.Name == "Mhc.Runtime" ? Runtime : null;
    }
}
