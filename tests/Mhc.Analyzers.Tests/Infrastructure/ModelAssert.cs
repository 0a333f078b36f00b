using TorchSharp;

namespace Mhc.Analyzers.Tests.Infrastructure;

/// <summary>What a converted model must do at init: take the original's weights and compute its output.</summary>
internal static class ModelAssert
{
    /// <summary>
    /// Loads the original's state dict into the converted model (strict: false). The conversion adds only
    /// connection modules, so no key may be unexpected and every missing one must belong to an <c>hc_</c>
    /// connection. Returns the missing keys.
    /// </summary>
    public static IList<string> LoadsOriginalWeights(torch.nn.Module original, torch.nn.Module converted)
    {
        var (missing, unexpected) = converted.load_state_dict(original.state_dict(), strict: false);
        Assert.Empty(unexpected);
        Assert.All(missing, name => Assert.Contains(name.Split('.'), part => part.StartsWith("hc_", StringComparison.Ordinal)));
        return missing;
    }

    /// <summary>Same shape, max |expected - actual| within 1e-5, and an output that is not trivially zero.</summary>
    public static void SameOutput(torch.Tensor expected, torch.Tensor actual)
    {
        Assert.Equal(expected.shape, actual.shape);
        using var difference = (expected - actual).abs().max();
        var max = difference.item<float>();
        Assert.True(max <= 1e-5f, $"max |original - converted| = {max}");
        using var magnitude = expected.abs().max();
        Assert.True(magnitude.item<float>() > 1e-3f, "the model output is trivially zero");
    }
}
