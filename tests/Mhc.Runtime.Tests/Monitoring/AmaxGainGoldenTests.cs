using System.Text.Json.Nodes;
using Mhc.Runtime.Monitoring;
using Mhc.Runtime.Tests.Golden;

namespace Mhc.Runtime.Tests.Monitoring;

public class AmaxGainGoldenTests
{
    private static JsonArray AllCases() => GoldenCases.Nodes("amax.json");

    public static TheoryData<int> Cases() => new(Enumerable.Range(0, AllCases().Count));

    private static JsonNode Case(int index) => AllCases()[index]!;

    private static double[] Numbers(JsonNode node) => node.AsArray().Select(v => v!.GetValue<double>()).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void GainsMatchTheGoldenCase(int index)
    {
        var c = Case(index);
        int n = c["n"]!.GetValue<int>(), layers = c["layers"]!.GetValue<int>();
        using var h = tensor(Numbers(c["h_res"]!)).reshape(layers, n, n);
        var perLayer = Enumerable.Range(0, layers).Select(l => h[l]).ToList();

        using var forward = AmaxGain.Forward(h);
        using var backward = AmaxGain.Backward(h);
        AssertClose(Numbers(c["forward_gain"]!), forward.data<double>().ToArray(), 1e-12);
        AssertClose(Numbers(c["backward_gain"]!), backward.data<double>().ToArray(), 1e-12);

        var composites = AmaxGain.Composite(perLayer);
        var compositeForward = composites.Select(m => AmaxGain.Forward(m).item<double>()).ToArray();
        var compositeBackward = composites.Select(m => AmaxGain.Backward(m).item<double>()).ToArray();
        AssertClose(Numbers(c["composite_forward_gain"]!), compositeForward, 1e-10);
        AssertClose(Numbers(c["composite_backward_gain"]!), compositeBackward, 1e-10);
    }

    private static void AssertClose(double[] expected, double[] actual, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"element {i}: expected {expected[i]}, got {actual[i]}");
    }

    [Fact]
    public void NonSquareMatricesAreRejected()
    {
        using var m = zeros(3, 4);
        Assert.Throws<ArgumentException>(() => AmaxGain.Forward(m));
    }
}
