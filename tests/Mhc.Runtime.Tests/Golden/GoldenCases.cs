using System.Text.Json;
using System.Text.Json.Nodes;

namespace Mhc.Runtime.Tests.Golden;

/// <summary>One Sinkhorn case: float64 logits, the projection after <see cref="Iters"/> steps, and the gradient of sum(out·grad_output).</summary>
public sealed record SinkhornCase(
    int N, int Iters, long[] Shape, double[] Logits, double[] Output, double[] GradOutput, double[] GradLogits,
    double MaxRowError, double MaxColError);

/// <summary>One whole mHC connection with branch F(h) = tanh(h·W): inputs, coefficients, output and gradients.</summary>
public sealed record MhcLayerCase(
    int N, int Channels, int Iters, double RmsEps, long[] XShape, double[] X, long[] PhiShape, double[] Phi,
    double[] B, double[] Alpha, double[] W, double[] HPre, double[] HPost, double[] HRes, double[] Output,
    double[] GradOutput, double[] GradX, double[] GradPhi, double[] GradB, double[] GradAlpha, double[] GradW);

/// <summary>Loads the golden JSON files copied next to the test assembly (never from outside the repository).</summary>
public static class GoldenCases
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = true,
    };

    public static IReadOnlyList<SinkhornCase> Sinkhorn(string fileName) => Load<SinkhornCase>(fileName);

    public static IReadOnlyList<MhcLayerCase> MhcLayer() => Load<MhcLayerCase>("mhc_layer.json");

    /// <summary>The cases of a file read as JSON nodes, for files whose cases differ in their fields (HC and mHC layers, Amax).</summary>
    public static JsonArray Nodes(string fileName)
    {
        string path = PathOf(fileName);
        return (JsonNode.Parse(File.ReadAllText(path))?["cases"] as JsonArray)
            ?? throw new InvalidDataException($"{path} holds no cases.");
    }

    private static string PathOf(string fileName) => Path.Combine(AppContext.BaseDirectory, "Golden", fileName);

    private static List<T> Load<T>(string fileName)
    {
        string path = PathOf(fileName);
        using var stream = File.OpenRead(path);
        var file = JsonSerializer.Deserialize<GoldenFile<T>>(stream, Options)
            ?? throw new InvalidDataException($"{path} holds no cases.");
        return file.Cases;
    }

    private sealed record GoldenFile<T>(List<T> Cases);
}
