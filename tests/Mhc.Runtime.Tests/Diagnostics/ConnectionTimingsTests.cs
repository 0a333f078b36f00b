using Mhc.Runtime.Diagnostics;
using Mhc.Runtime.Kernels;
using Mhc.Runtime.Tests.Support;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Diagnostics;

/// <summary>
/// The connection timings the benchmarks' overhead attribution reads: every region of a training step through an
/// mHC connection is recorded once per call, nested regions fit inside the regions that contain them, and the
/// markers that time the branch's backward leave every gradient exactly as it is without them.
/// </summary>
public sealed class ConnectionTimingsTests : IDisposable
{
    private const long Channels = 16;

    public ConnectionTimingsTests() => ConnectionTimings.Reset();

    public void Dispose()
    {
        ConnectionTimings.Enabled = false;
        ConnectionTimings.Reset();
        TokenChunks.MinOperationsPerChunk = TokenChunks.DefaultMinOperationsPerChunk;
    }

    [Fact]
    public void EveryRegionOfATrainingStepIsRecordedOncePerCallAndFitsInsideItsContainer()
    {
        using var scope = NewDisposeScope();
        var (connection, x, w) = Setup();
        // Several chunks per kernel, so the threads' waits are recorded too.
        TokenChunks.MinOperationsPerChunk = 1;
        ConnectionTimings.Enabled = true;
        var y = connection.forward(x, h => h.matmul(w).tanh());
        var forward = ConnectionTimings.Snapshot();
        ConnectionTimings.Reset();
        y.square().sum().backward();
        var backward = ConnectionTimings.Snapshot();
        ConnectionTimings.Enabled = false;

        foreach (var part in new[] { TimedPart.Connection, TimedPart.Branch, TimedPart.MixApply, TimedPart.MixForward, TimedPart.MergeApply,
                     TimedPart.MergeForward, TimedPart.CoefficientsKernel, TimedPart.SinkhornKernel, TimedPart.MergeKernel })
            Assert.True(forward[part].Count == 1, $"{part}: {forward[part].Count} forward regions");
        foreach (var part in new[] { TimedPart.BranchBackward, TimedPart.MixBackward, TimedPart.MergeBackward, TimedPart.MixBackwardKernel,
                     TimedPart.MergeBackwardKernel })
            Assert.True(backward[part].Count == 1, $"{part}: {backward[part].Count} backward regions");
        Assert.Equal(0, forward[TimedPart.PreMixKernel].Count);        // the coefficients kernel makes h in its pass over x
        // The mix's backward is one kernel: none of the separate ops' kernels runs.
        foreach (var part in new[] { TimedPart.CoefficientsBackwardKernel, TimedPart.SinkhornBackwardKernel, TimedPart.PreMixBackwardKernel,
                     TimedPart.InputGradientKernel })
            Assert.Equal(0, backward[part].Count);
        Assert.True(forward[TimedPart.ChunkWaiting].Count > 0, "no threaded kernel recorded its wait");
        // Merge → branch output marker, branch input marker → mix: the engine's two gaps on one connection's chain.
        Assert.Equal(2, backward[TimedPart.EngineGaps].Count);

        double Ms(IReadOnlyDictionary<TimedPart, (double Milliseconds, long Count)> s, TimedPart p) => s[p].Milliseconds;
        Assert.Equal(2, forward[TimedPart.Markers].Count);
        Assert.True(Ms(forward, TimedPart.Connection) >= Ms(forward, TimedPart.Branch) + Ms(forward, TimedPart.Markers)
                    + Ms(forward, TimedPart.MixApply) + Ms(forward, TimedPart.MergeApply));
        Assert.True(Ms(forward, TimedPart.MixApply) >= Ms(forward, TimedPart.MixForward));
        Assert.True(Ms(forward, TimedPart.MixForward) >= Ms(forward, TimedPart.CoefficientsKernel) + Ms(forward, TimedPart.SinkhornKernel));
        Assert.True(Ms(forward, TimedPart.MergeForward) >= Ms(forward, TimedPart.MergeKernel));
        Assert.True(Ms(backward, TimedPart.MixBackward) >= Ms(backward, TimedPart.MixBackwardKernel));
        Assert.True(Ms(backward, TimedPart.MergeBackward) >= Ms(backward, TimedPart.MergeBackwardKernel));
    }

    [Fact]
    public void NothingIsRecordedWhileOff()
    {
        using var scope = NewDisposeScope();
        var (connection, x, w) = Setup();
        connection.forward(x, h => h.matmul(w).tanh()).sum().backward();

        Assert.All(ConnectionTimings.Snapshot(), p => Assert.Equal(0, p.Value.Count));
    }

    [Fact]
    public void TimedStepsGiveBitIdenticalOutputsAndGradients()
    {
        using var scope = NewDisposeScope();
        var (connection, x, w) = Setup();
        var plain = Step(connection, x, w, timed: false);
        var timed = Step(connection, x, w, timed: true);

        for (int i = 0; i < plain.Length; i++)
            Assert.True(TensorAssert.BitEqual(plain[i], timed[i]), $"result {i} differs with the timings on");
    }

    [Fact]
    public void ABranchThatIgnoresItsInputLeavesNoBranchBackwardAndStillTrains()
    {
        using var scope = NewDisposeScope();
        var (connection, x, _) = Setup();
        var constant = randn(Channels, dtype: ScalarType.Float64).requires_grad_();
        ConnectionTimings.Enabled = true;
        connection.forward(x, h => constant.expand(h.shape)).sum().backward();
        ConnectionTimings.Enabled = false;

        Assert.Equal(0, ConnectionTimings.Snapshot()[TimedPart.BranchBackward].Count);
        Assert.NotNull(x.grad);
        Assert.NotNull(constant.grad);
    }

    private static Tensor[] Step(HyperConnection connection, Tensor x, Tensor w, bool timed)
    {
        var leaf = x.detach().clone().requires_grad_();
        foreach (var p in connection.parameters()) p.grad = null;
        ConnectionTimings.Enabled = timed;
        var y = connection.forward(leaf, h => h.matmul(w).tanh());
        (y * y).sum().backward();
        ConnectionTimings.Enabled = false;
        return [y.detach(), leaf.grad!, .. connection.parameters().Select(p => p.grad!.clone())];
    }

    private static (HyperConnection Connection, Tensor X, Tensor W) Setup()
    {
        var connection = new HyperConnection("hc", Channels, new HyperConnectionOptions { Streams = 4 }, layerIndex: 1);
        connection.to(ScalarType.Float64);
        var generator = manual_seed(11);
        using (no_grad())
            foreach (var p in connection.parameters())
                p.add_(Random(p.shape, 0.05, ScalarType.Float64, generator));
        var x = Random([3, 40, 4, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var w = Random([Channels, Channels], 0.3, ScalarType.Float64, generator);
        return (connection, x, w);
    }
}
