using System.Reflection;
using Mhc.Analyzers.Tests.Infrastructure;
using Mhc.Analyzers.Tests.Ports;
using TorchSharp;

namespace Mhc.Analyzers.Tests.EndToEnd;

/// <summary>
/// A small GPT written as ordinary TorchSharp code is converted by the code fix, both versions are compiled
/// in memory (the converted one with the generator) and run, and the converted model, loaded with the
/// original's weights, must compute the same output at init, with the real Mhc.Runtime (mHC connections,
/// fused kernels) loaded beside them.
/// </summary>
[Collection(TorchCollection.Name)]
public class ConvertedGptTests
{
    [Fact]
    public async Task Converted_gpt_computes_the_original_output_at_init()
    {
        var source = GptSources.WithoutMarkup(GptSources.Original);
        var conversion = await PortConversion.ConvertAsync(source, "Gpt.cs");
        Assert.Equal(1, conversion.FixesApplied);
        Assert.Equal(GptSources.Converted, conversion.Text);
        Assert.Contains("[HyperConnected]", conversion.Text, StringComparison.Ordinal);
        Assert.Contains("HyperStreams.Expand(x, Block.HyperConnectionStreams)", conversion.Text, StringComparison.Ordinal);

        var context = new ModelLoadContext();
        using var original = Create(context, InMemoryCompilation.Create(source, withGenerator: false));
        using var hyper = Create(context, InMemoryCompilation.Create(conversion.Text, withGenerator: true));

        // The converted model adds only connection modules, so the original checkpoint loads into it.
        ModelAssert.LoadsOriginalWeights(original, hyper);

        // Two connections per block, numbered across the whole model by AssignLayerIndices.
        Assert.Equal(Enumerable.Range(0, 6), LayerIndices(context, hyper));

        original.eval();
        hyper.eval();
        torch.manual_seed(7);
        using var idx = torch.randint(0, 32, [2, 8], dtype: torch.ScalarType.Int64);
        using var expected = original.forward(idx);
        using var actual = hyper.forward(idx);
        ModelAssert.SameOutput(expected, actual);
    }

    private static torch.nn.Module<torch.Tensor, torch.Tensor> Create(ModelLoadContext context, Microsoft.CodeAnalysis.Compilation compilation)
    {
        var assembly = context.Load(InMemoryCompilation.Emit(compilation));
        var create = assembly.GetType("Demo.Gpt")!.GetMethod("Create", BindingFlags.Public | BindingFlags.Static)!;

        // Same seed for both models: the converted model's own modules are built after the original ones.
        torch.manual_seed(42);
        return (torch.nn.Module<torch.Tensor, torch.Tensor>)create.Invoke(null, null)!;
    }

    private static IEnumerable<int> LayerIndices(ModelLoadContext context, torch.nn.Module model)
    {
        var connections = context.Runtime.GetType("Mhc.Runtime.HyperConnections")!.GetMethod("Find")!.Invoke(null, [model]);
        return ((System.Collections.IEnumerable)connections!).Cast<object>()
            .Select(c => (int)c.GetType().GetProperty("LayerIndex")!.GetValue(c)!)
            .ToList();
    }
}
