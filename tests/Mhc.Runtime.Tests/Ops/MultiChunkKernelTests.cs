using Mhc.Runtime.Kernels;
using Mhc.Runtime.Ops;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>
/// Every fused kernel split over several chunks (the least work per chunk lowered to one operation), fused
/// against reference in float64 at 1e-11: the threaded paths and the cross-chunk sums (the bias and α
/// partials of the coefficients backward), which inputs of test size otherwise run in one chunk.
/// 501 tokens are no multiple of a SIMD width or tile, so the last chunk is short; 19 channels leave a
/// scalar tail after every vector width; n = 4 takes the unrolled kernels, n = 2 and 3 the general ones.
/// </summary>
public sealed class MultiChunkKernelTests : IDisposable
{
    private const double Tolerance = 1e-11;
    private const long Channels = 19;
    private static readonly long[] Leading = [3, 167];

    public MultiChunkKernelTests() => TokenChunks.MinOperationsPerChunk = 1;

    public void Dispose() => TokenChunks.MinOperationsPerChunk = TokenChunks.DefaultMinOperationsPerChunk;

    public static TheoryData<long> StreamCounts => [2, 3, 4];

    [Fact]
    public void TestInputsSplitIntoSeveralChunks()
    {
        // The widest alignment a kernel asks for is a SIMD block of float64 tokens (at most 8).
        var chunks = TokenChunks.Plan(Leading[0] * Leading[1], operationsPerToken: 1, alignment: 8);
        Assert.True(chunks.Count > 1, $"{chunks.Count} chunk(s)");
        Assert.True(chunks.End(chunks.Count - 1) - chunks.Start(chunks.Count - 1) < chunks.End(0) - chunks.Start(0),
            "the last chunk is shorter than the others");
    }

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void CoefficientsAgreeOverSeveralChunks(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(101 + n);
        long m = n * n + 2 * n;
        Tensor[] inputs =
        [
            Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true),
            Random([n * Channels, m], 0.2, ScalarType.Float64, generator, requiresGrad: true),
            Random([m], 1.0, ScalarType.Float64, generator, requiresGrad: true),
            FromValues([0.6, -0.8, 1.1], [3], ScalarType.Float64, requiresGrad: true),
        ];
        AgreeForwardAndBackward(inputs, generator, "coefficients", (t, implementation) =>
        {
            var (pre, post, res) = MhcOps.Coefficients(t[0], t[1], t[2], t[3], 1e-6, implementation);
            return cat([pre.flatten(), post.flatten(), res.flatten()]);
        });
    }

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void SinkhornAgreesOverSeveralChunks(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(111 + n);
        Tensor[] inputs = [Random([.. Leading, n, n], 2.0, ScalarType.Float64, generator, requiresGrad: true)];
        AgreeForwardAndBackward(inputs, generator, "sinkhorn", (t, implementation) => MhcOps.Sinkhorn(t[0], 20, implementation));
    }

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void PreMixAgreesOverSeveralChunks(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(121 + n);
        Tensor[] inputs =
        [
            Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true),
            Random([.. Leading, n], 1.0, ScalarType.Float64, generator, requiresGrad: true),
        ];
        AgreeForwardAndBackward(inputs, generator, "pre-mix", (t, implementation) => MhcOps.PreMix(t[0], t[1], implementation));
    }

    [Theory]
    [MemberData(nameof(StreamCounts))]
    public void MergeAgreesOverSeveralChunks(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(131 + n);
        Tensor[] inputs =
        [
            Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true),
            Random([.. Leading, n, n], 1.0, ScalarType.Float64, generator, requiresGrad: true),
            Random([.. Leading, n], 1.0, ScalarType.Float64, generator, requiresGrad: true),
            Random([.. Leading, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true),
        ];
        AgreeForwardAndBackward(inputs, generator, "merge",
            (t, implementation) => MhcOps.Merge(t[0], t[1], t[2], t[3], implementation));
    }

    /// <summary>Runs <paramref name="op"/> fused and as reference on copies of the same leaves; compares output and every gradient.</summary>
    private static void AgreeForwardAndBackward(Tensor[] fused, Generator generator, string what,
        Func<Tensor[], OpsImplementation, Tensor> op)
    {
        var reference = fused.Select(t => t.detach().clone().requires_grad_(true)).ToArray();
        var fusedOutput = op(fused, OpsImplementation.Fused);
        var referenceOutput = op(reference, OpsImplementation.Reference);
        Close(fusedOutput, referenceOutput, Tolerance, what + " output");

        var weights = randn(fusedOutput.shape, ScalarType.Float64, generator: generator);
        (fusedOutput * weights).sum().backward();
        (referenceOutput * weights).sum().backward();
        for (int i = 0; i < fused.Length; i++)
            Close(fused[i].grad!, reference[i].grad!, Tolerance, $"{what}: grad of input {i}");
    }
}
