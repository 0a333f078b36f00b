using Mhc.Analyzers.Rules;
using Mhc.Analyzers.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using TorchSharp;

namespace Mhc.Analyzers.Tests.Ports;

/// <summary>
/// Each corpus model, and the end-to-end test's GPT, converted in memory as <c>dotnet mhc convert</c> would,
/// compiled with the generator and run beside the original: loaded with the original's weights, the
/// converted model must compute the original's output at init.
/// </summary>
[Collection(TorchCollection.Name)]
public class PortEquivalenceTests
{
    public static TheoryData<string> Models => PortModel.CorpusAndGpt;

    /// <summary>The harness itself: every original compiles and runs, whatever the converter can do.</summary>
    [Theory]
    [MemberData(nameof(Models))]
    public void Original_models_compile_and_run(string name)
    {
        using var model = PortModel.Get(name).CreateOriginal();
        model.Module.eval();
        using var output = model.Run();

        Assert.Equal(torch.ScalarType.Float32, output.dtype);
        Assert.True(output.numel() > 0, "the harness returned an empty tensor");
        using var finite = output.isfinite().all();
        Assert.True(finite.item<bool>(), "the output is not finite");
        using var magnitude = output.abs().max();
        Assert.True(magnitude.item<float>() > 1e-3f, "the output is trivially zero");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Converted_model_computes_the_original_output_at_init(string name)
    {
        var model = PortModel.Get(name);
        var conversion = await model.ConvertedAsync();
        var converted = InMemoryCompilation.Create(conversion.Text, withGenerator: true, model.FileName);

        var problems = converted.GetDiagnostics()
            .Concat(await InMemoryCompilation.AnalyzeAsync(converted, new ResidualConnectionAnalyzer(), new StreamShapeAnalyzer(), new HyperConnectedDeclarationAnalyzer()))
            .Where(d => d.Severity == DiagnosticSeverity.Error || d.Id == RuleIdentifiers.ResidualConnectionFound)
            .ToList();
        Assert.True(problems.Count == 0, $"the converted {model.FileName} ({conversion.FixesApplied} fixes applied):\n"
            + string.Join("\n", problems) + "\n--- converted source ---\n" + Numbered(conversion.Text));

        // A model with a convertible site must change; one without must be left exactly as it was.
        var convertible = name == PortModel.Gpt || PortExpectations.Parse(model.Source).Any(e => e.Id == RuleIdentifiers.ResidualConnectionFound);
        if (convertible)
        {
            var sites = (await model.SitesAsync()).Select(d => $"  line {PortModel.StartLine(d)}: {PortModel.Describe(d)}").DefaultIfEmpty("  no residual connection at all");
            Assert.True(conversion.Text.Contains("[HyperConnected", StringComparison.Ordinal),
                $"nothing in {model.FileName} was converted; the analyzer reports:\n" + string.Join("\n", sites));
        }
        else
        {
            Assert.Equal(model.Source, conversion.Text);
        }

        using var original = model.CreateOriginal();
        using var hyper = PortModel.CreateConverted(converted);
        var missing = ModelAssert.LoadsOriginalWeights(original.Module, hyper.Module);
        Assert.Equal(convertible, missing.Count > 0);

        original.Module.eval();
        hyper.Module.eval();
        using var expected = original.Run();
        using var actual = hyper.Run();
        ModelAssert.SameOutput(expected, actual);
    }

    /// <summary>
    /// What the conversion writes, kept as approved files (<c>Ports/Snapshots/&lt;Name&gt;.cs</c>) so that a review shows
    /// exactly what users get, and so that <c>dotnet mhc convert</c> can be checked to write the same (Mhc.Tool.Tests).
    /// </summary>
    [Theory]
    [MemberData(nameof(CorpusModels))]
    public async Task Converted_text_is_the_approved_one(string name)
    {
        var model = PortModel.Get(name);
        var conversion = await model.ConvertedAsync();
        Assert.Equal(Snapshot.Read(name + ".cs", conversion.Text), conversion.Text.ReplaceLineEndings("\n"));
    }

    public static TheoryData<string> CorpusModels => [.. PortModel.CorpusNames];

    /// <summary>The comparison itself can fail: a converted GPT whose attention branch lost its norm is caught.</summary>
    [Fact]
    public void Equivalence_check_catches_a_conversion_that_changes_the_function()
    {
        var correct = GptSources.Converted + PortModel.GptHarness;
        var broken = correct.Replace("h => attn.forward(ln_1.forward(h))", "h => attn.forward(h)", StringComparison.Ordinal);
        Assert.NotEqual(correct, broken);

        using var original = PortModel.Get(PortModel.Gpt).CreateOriginal();
        using var hyper = PortModel.CreateConverted(InMemoryCompilation.Create(broken, withGenerator: true));
        ModelAssert.LoadsOriginalWeights(original.Module, hyper.Module);
        original.Module.eval();
        hyper.Module.eval();
        using var expected = original.Run();
        using var actual = hyper.Run();
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => ModelAssert.SameOutput(expected, actual));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public async Task Converting_again_changes_nothing(string name)
    {
        var model = PortModel.Get(name);
        var first = await model.ConvertedAsync();
        var second = await PortConversion.ConvertAsync(first.Text, model.FileName);

        Assert.Empty(second.Remaining);
        Assert.Equal(0, second.FixesApplied);
        Assert.Equal(first.Text, second.Text);
    }

    private static string Numbered(string source)
        => string.Join("\n", source.Split('\n').Select((line, i) => $"{i + 1,4}  {line}"));
}
