using Mhc.Runtime.Kernels;
using Mhc.Runtime.Tests.Support;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Connections;

/// <summary>
/// The connection's own fused paths: with gradients, one mix node (coefficients, Sinkhorn and pre-mix) whose
/// backward makes ∂x in one pass; without, the scratch-only inference path. Both against the reference
/// connection in float64 at 1e-11, at token counts on either side of the coefficients' row-major cut
/// (<see cref="CoefficientsKernel{T}.RowMajorTokens"/>), for n = 2, 3, 4 (m = 15 leaves a scalar tail),
/// every convention, in one chunk and split over many.
/// </summary>
public sealed class FusedConnectionTests : IDisposable
{
    private const double Tolerance = 1e-11;
    private const long Channels = 19;

    private readonly bool _wideByDefault = ProjectionLanes<double>.Wide;

    public void Dispose()
    {
        TokenChunks.MinOperationsPerChunk = TokenChunks.DefaultMinOperationsPerChunk;
        ProjectionLanes<double>.Wide = _wideByDefault;
    }

    public static TheoryData<long, long, ConnectionConvention, bool> Cases()
    {
        var data = new TheoryData<long, long, ConnectionConvention, bool>();
        foreach (var convention in Enum.GetValues<ConnectionConvention>())
            foreach (long n in new long[] { 2, 3, 4 })
            {
                data.Add(n, 1, convention, false);
                data.Add(n, CoefficientsKernel<double>.RowMajorTokens - 1, convention, true);
                data.Add(n, CoefficientsKernel<double>.RowMajorTokens + 37, convention, true);
            }
        data.Add(4, 501, ConnectionConvention.MhcSpec, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void FusedConnectionMatchesTheReferenceConnectionWithGradients(long n, long tokens, ConnectionConvention convention, bool manyChunks)
    {
        using var scope = NewDisposeScope();
        if (manyChunks) TokenChunks.MinOperationsPerChunk = 1;
        var (fused, reference) = Pair(n, convention, seed: 7 + n + tokens);
        var generator = manual_seed(17 + tokens);
        var w = Random([Channels, Channels], 0.3, ScalarType.Float64, generator);
        var x1 = Random([tokens, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var x2 = x1.detach().clone().requires_grad_();

        AgreeWithGradients(fused, reference, x1, x2, h => h.matmul(w).tanh(), generator);
    }

    /// <summary>
    /// The mix's backward with its products on both lane widths, over several chunks and blocks (501 tokens: whole tiles,
    /// a remainder, blocks of the pass split by chunk ends), under a convention that transposes M and one that does not.
    /// </summary>
    [Theory]
    [InlineData(4, ConnectionConvention.MhcSpec, true)]
    [InlineData(4, ConnectionConvention.MhcSpec, false)]
    [InlineData(4, ConnectionConvention.DeepSeekV4, false)]
    [InlineData(3, ConnectionConvention.Megatron, false)]
    public void MixBackwardAgreesOnBothLaneWidths(long n, ConnectionConvention convention, bool wide)
    {
        using var scope = NewDisposeScope();
        ProjectionLanes<double>.Wide = wide;
        TokenChunks.MinOperationsPerChunk = 1;
        var (fused, reference) = Pair(n, convention, seed: 13 + n);
        var generator = manual_seed(19);
        var w = Random([Channels, Channels], 0.3, ScalarType.Float64, generator);
        var x1 = Random([501, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var x2 = x1.detach().clone().requires_grad_();
        AgreeWithGradients(fused, reference, x1, x2, h => h.matmul(w).tanh(), generator);
    }

    /// <summary>A branch that ignores h sends no gradient to it: the mix's backward then has only the RMS norm's term of ∂x.</summary>
    [Theory]
    [InlineData(ConnectionConvention.MhcSpec)]
    [InlineData(ConnectionConvention.DeepSeekV4)]
    public void BranchThatIgnoresItsInputStillGetsEveryOtherGradient(ConnectionConvention convention)
    {
        using var scope = NewDisposeScope();
        var (fused, reference) = Pair(4, convention, seed: 5);
        var generator = manual_seed(23);
        var constant = Random([Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var x1 = Random([3, 9, 4, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var x2 = x1.detach().clone().requires_grad_();
        AgreeWithGradients(fused, reference, x1, x2, h => constant.expand(h.shape), generator);
    }

    /// <summary>Frozen mixing parameters: the streams' gradient still carries the merge's part, which the mix adds.</summary>
    [Fact]
    public void FrozenConnectionStillPassesTheWholeStreamGradient()
    {
        using var scope = NewDisposeScope();
        var (fused, reference) = Pair(4, ConnectionConvention.MhcSpec, seed: 8);
        foreach (var (_, parameter) in fused.named_parameters().Concat(reference.named_parameters()))
            parameter.requires_grad_(false);
        var generator = manual_seed(37);
        var x1 = Random([2, 11, 4, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var x2 = x1.detach().clone().requires_grad_();
        var g = Random([2, 11, 4, Channels], 1.0, ScalarType.Float64, generator);
        fused.forward(x1, h => h.sin()).backward([g]);
        reference.forward(x2, h => h.sin()).backward([g]);
        Close(x1.grad!, x2.grad!, Tolerance, "grad x");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void InferencePathMatchesTheReferenceAndTheTrainingPathsBits(long n, long tokens, ConnectionConvention convention, bool manyChunks)
    {
        using var scope = NewDisposeScope();
        if (manyChunks) TokenChunks.MinOperationsPerChunk = 1;
        var (fused, reference) = Pair(n, convention, seed: 3 + n + tokens);
        var generator = manual_seed(29 + tokens);
        var w = Random([Channels, Channels], 0.3, ScalarType.Float64, generator);
        var x = Random([1, tokens, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);

        var training = fused.forward(x, h => h.matmul(w).tanh());
        Tensor inference, expected;
        using (no_grad())
        {
            inference = fused.forward(x, h => h.matmul(w).tanh());
            expected = reference.forward(x, h => h.matmul(w).tanh());
        }
        Assert.False(inference.requires_grad);
        Assert.True(TensorAssert.BitEqual(inference, training.detach()), "the inference path's output differs from the training path's");
        Close(inference, expected, Tolerance, "output against the reference");
    }

    [Fact]
    public void InferencePathTakesAnEmptyBatch()
    {
        using var scope = NewDisposeScope();
        var (fused, _) = Pair(4, ConnectionConvention.Megatron, seed: 4);
        using var noGrad = no_grad();
        var y = fused.forward(zeros(0, 3, 4, Channels, dtype: ScalarType.Float64), h => h.tanh());
        Assert.Equal(new long[] { 0, 3, 4, Channels }, y.shape);
    }

    /// <summary>With gradients, an empty batch runs both nodes and gives zero parameter gradients, as the reference does.</summary>
    [Fact]
    public void EmptyBatchGivesZeroParameterGradients()
    {
        using var scope = NewDisposeScope();
        var (fused, reference) = Pair(4, ConnectionConvention.MhcSpec, seed: 6);
        var x1 = zeros([0, 3, 4, Channels], dtype: ScalarType.Float64).requires_grad_();
        var x2 = x1.detach().clone().requires_grad_();
        var y = fused.forward(x1, h => h.tanh());
        Assert.Equal(new long[] { 0, 3, 4, Channels }, y.shape);
        y.sum().backward();
        reference.forward(x2, h => h.tanh()).sum().backward();
        foreach (var ((name, a), (_, b)) in fused.named_parameters().Zip(reference.named_parameters()))
        {
            Assert.Equal(0.0, a.grad!.abs().max().item<double>());
            Assert.True(TensorAssert.BitEqual(a.grad!, b.grad!), "grad " + name);
        }
    }

    /// <summary>A branch that returns float32 or a strided view under no_grad: converted and made contiguous before the merge, as on the other paths.</summary>
    [Fact]
    public void InferencePathTakesBranchOutputsOfAnotherDtypeOrLayout()
    {
        using var scope = NewDisposeScope();
        var (fused, _) = Pair(4, ConnectionConvention.MhcSpec, seed: 2);
        var x = Random([6, 4, Channels], 1.0, ScalarType.Float64, manual_seed(31));
        using var noGrad = no_grad();
        var strided = fused.forward(x, h => h.t().contiguous().t().tanh());
        var plain = fused.forward(x, h => h.tanh());
        var narrowed = fused.forward(x, h => h.tanh().to_type(ScalarType.Float32));
        Assert.True(TensorAssert.BitEqual(strided, plain));
        Assert.Equal(ScalarType.Float64, narrowed.dtype);
        Assert.True(TensorAssert.MaxAbsDifference(narrowed, plain) < 1e-6);
    }

    /// <summary>Runs both connections on copies of the same streams; compares the outputs and every gradient.</summary>
    private static void AgreeWithGradients(HyperConnection fused, HyperConnection reference, Tensor x1, Tensor x2,
        Func<Tensor, Tensor> branch, Generator generator)
    {
        var y1 = fused.forward(x1, branch);
        var y2 = reference.forward(x2, branch);
        Close(y1, y2, Tolerance, "output");
        var g = Random(y1.shape, 1.0, ScalarType.Float64, generator);
        y1.backward([g]);
        y2.backward([g]);
        Close(x1.grad!, x2.grad!, Tolerance, "grad x");
        foreach (var ((name, a), (_, b)) in fused.named_parameters().Zip(reference.named_parameters()))
            Close(a.grad!, b.grad!, Tolerance, "grad " + name);
    }

    /// <summary>A fused and a reference connection with the same random float64 parameters.</summary>
    private static (HyperConnection Fused, HyperConnection Reference) Pair(long n, ConnectionConvention convention, long seed)
    {
        var options = new HyperConnectionOptions { Streams = (int)n, Convention = convention };
        var fused = new HyperConnection("hc", Channels, options, layerIndex: 1);
        var reference = new HyperConnection("hc", Channels, options with { Implementation = OpsImplementation.Reference }, layerIndex: 1);
        fused.to(ScalarType.Float64);
        reference.to(ScalarType.Float64);
        var generator = manual_seed(seed);
        using (no_grad())
            foreach (var ((_, a), (_, b)) in fused.named_parameters().Zip(reference.named_parameters()))
            {
                a.copy_(Random(a.shape, 0.5, ScalarType.Float64, generator));
                b.copy_(a);
            }
        return (fused, reference);
    }
}
