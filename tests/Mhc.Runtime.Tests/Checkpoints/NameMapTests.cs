using Mhc.Runtime.Checkpoints;

namespace Mhc.Runtime.Tests.Checkpoints;

public sealed class NameMapTests
{
    [Fact]
    public void ExactNamesComeFirstThenRulesInOrderThenTheFunction()
    {
        var map = new NameMap()
            .Exact("model.special", "renamed")
            .Ignore(@"model\.h\.\d+\.attn\.bias")
            .Prefix("model.", "")
            .Pattern(@"layer_(\d+)\.w", "h.$1.weight")
            .Function(name => name.StartsWith("drop") ? null : name.ToUpperInvariant());

        Assert.Equal("renamed", map.Map("model.special"));
        Assert.Null(map.Map("model.h.3.attn.bias"));
        Assert.Equal("h.3.attn.c_attn.weight", map.Map("model.h.3.attn.c_attn.weight"));
        Assert.Equal("h.12.weight", map.Map("layer_12.w"));
        Assert.Equal("layer_12.w2".ToUpperInvariant(), map.Map("layer_12.w2")); // patterns match whole names
        Assert.Null(map.Map("dropped"));
        Assert.Equal("other", NameMap.Identity.Map("other"));
    }

    [Fact]
    public void HuggingFaceGpt2NamesMapOntoTheSampleNames()
    {
        var map = NameMap.HuggingFaceGpt2();
        Assert.Equal("wte.weight", map.Map("transformer.wte.weight"));
        Assert.Equal("h.0.attn.c_attn.weight", map.Map("transformer.h.0.attn.c_attn.weight"));
        Assert.Equal("lm_head.weight", map.Map("lm_head.weight"));
        Assert.Null(map.Map("transformer.h.11.attn.bias"));
        Assert.Null(map.Map("transformer.h.11.attn.masked_bias"));
        Assert.Equal("h.0.attn.c_attn.bias", map.Map("transformer.h.0.attn.c_attn.bias")); // a real bias, kept
    }
}
