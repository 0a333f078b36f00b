using Mhc.Runtime.Recompute;
using Mhc.Runtime.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace Mhc.Runtime.Tests.Recompute;

public class RecomputeTests
{
    private static readonly Gpt.Residual.GptConfig Deep = Models.Small with { NLayer = 6 };

    [Theory]
    [InlineData(4, 24, 4)]
    [InlineData(4, 12, 3)]
    [InlineData(4, 8, 2)]
    [InlineData(4, 2, 1)]
    [InlineData(4, 0, 1)]
    [InlineData(8, 60, 7)]
    public void SegmentLengthIsTheRoundedOptimumOfEq20(int streams, int connections, int expected)
        => Assert.Equal(expected, HyperConnections.RecomputeSegmentLength(streams, connections));

    [Theory]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.Float32)]
    public void GradientsAreBitIdenticalToKeepingEveryState(ScalarType dtype)
    {
        var (plain, recomputing) = Pair(dtype);
        Assert.Equal(12, HyperConnections.EnableRecompute(recomputing));
        using var tokens = Models.Tokens();

        using var plainLoss = Loss(plain, tokens);
        plainLoss.backward();
        long before = RecomputeSegment.StatesRecomputed;
        int live = RecomputeSegment.LiveStates;
        using var loss = Loss(recomputing, tokens);
        loss.backward();

        // 12 connections in segments of 3: the last two links of each of the 4 segments are re-derived.
        Assert.Equal(8, RecomputeSegment.StatesRecomputed - before);
        Assert.Equal(live, RecomputeSegment.LiveStates);
        Assert.Equal(plainLoss.to_type(ScalarType.Float64).item<double>(), loss.to_type(ScalarType.Float64).item<double>());
        AssertSameGradients(plain, recomputing);
    }

    [Theory]
    [InlineData(ConnectionConvention.Megatron)]
    [InlineData(ConnectionConvention.DeepSeekV4)]
    public void GradientsAreBitIdenticalToKeepingEveryStateUnderTheCompatibleConventions(ConnectionConvention convention)
    {
        var (plain, recomputing) = Pair(ScalarType.Float64, convention);
        HyperConnections.EnableRecompute(recomputing);
        using var tokens = Models.Tokens();

        using var plainLoss = Loss(plain, tokens);
        plainLoss.backward();
        long before = RecomputeSegment.StatesRecomputed;
        using var loss = Loss(recomputing, tokens);
        loss.backward();

        Assert.Equal(8, RecomputeSegment.StatesRecomputed - before);
        Assert.Equal(plainLoss.item<double>(), loss.item<double>());
        AssertSameGradients(plain, recomputing);
    }

    [Fact]
    public void TrainingStepsWithRecomputeLeaveNoLiveTensorsBehind()
    {
        manual_seed(1);
        using var model = new TinyGpt(Deep, new HyperConnectionOptions());
        HyperConnections.EnableRecompute(model);
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3);
        using var tokens = Models.Tokens();

        void Step()
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            Loss(model, tokens).backward();
            optimizer.step();
        }

        Step(); // creates gradients and optimizer state once
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long recomputed = RecomputeSegment.StatesRecomputed;
        int live = RecomputeSegment.LiveStates;
        for (int i = 0; i < 3; i++) Step();

        Assert.Equal(3 * 8, RecomputeSegment.StatesRecomputed - recomputed);
        Assert.Equal(live, RecomputeSegment.LiveStates);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void RetainedGraphRecomputesAgainOnTheSecondBackward()
    {
        var (plain, recomputing) = Pair(ScalarType.Float64);
        HyperConnections.EnableRecompute(recomputing);
        using var tokens = Models.Tokens();
        int live = RecomputeSegment.LiveStates;
        foreach (var model in new[] { plain, recomputing })
        {
            using var loss = Loss(model, tokens);
            loss.backward(retain_graph: true);
            loss.backward();
        }

        Assert.Equal(live, RecomputeSegment.LiveStates);
        AssertSameGradients(plain, recomputing);
    }

    [Fact]
    public void WithoutRunOrWithoutGradientsNothingIsRecomputed()
    {
        manual_seed(5);
        using var model = new TinyGpt(Models.Small, new HyperConnectionOptions());
        HyperConnections.EnableRecompute(model);
        using var tokens = Models.Tokens();
        long before = RecomputeSegment.StatesRecomputed;
        using (no_grad())
        using (var logits = model.forward(tokens))
            Assert.False(logits.requires_grad);

        using var streams = randn(2, 5, 4, 8, requires_grad: true);
        var connections = Enumerable.Range(0, 4).Select(i => new HyperConnection($"hc{i}", 8, new HyperConnectionOptions(), i) { Recompute = true }).ToList();
        using (var scope = NewDisposeScope())
        {
            var x = streams;
            foreach (var connection in connections)
                x = connection.forward(x, h => h.tanh());
            x.square().sum().backward();
        }

        Assert.Equal(before, RecomputeSegment.StatesRecomputed);
    }

    [Fact]
    public void AStateChangedBetweenConnectionsStartsANewSegment()
    {
        // Each block rescales its output, a new tensor: no connection continues a segment, so nothing
        // is re-derived, and the gradients still match.
        var results = new List<(Tensor Grad, long Recomputed)>();
        foreach (bool recompute in new[] { false, true })
        {
            var blocks = Stack(channels: 8, seed: 11, recompute, Variant.Rescaled);
            manual_seed(12);
            using var input = randn(3, 4, 8, dtype: ScalarType.Float64).requires_grad_();
            long recomputed = BackwardThrough(blocks, input);
            results.Add((input.grad!.clone(), recomputed));
        }

        Assert.Equal(0, results[1].Recomputed);
        Assert.True(Identical(results[0].Grad, results[1].Grad));
    }

    [Fact]
    public void LowPrecisionStreamsAreRoundedAsInTheForward()
    {
        // bf16 streams, float32 arithmetic: the forward returned each state rounded to bf16, so the
        // re-derived state must be rounded the same way for the gradients to match.
        var grads = new List<Tensor>();
        foreach (bool recompute in new[] { false, true })
        {
            var blocks = Stack(channels: 16, seed: 21, recompute);
            manual_seed(22);
            using var input = randn(2, 6, 16).to_type(ScalarType.BFloat16).requires_grad_();
            Assert.Equal(recompute ? 2 : 0, BackwardThrough(blocks, input));
            grads.Add(input.grad!.clone());
            grads.AddRange(blocks.SelectMany(b => b.parameters()).Select(p => p.grad!.clone()));
        }

        int half = grads.Count / 2;
        for (int i = 0; i < half; i++)
            Assert.True(Identical(grads[i], grads[half + i]), $"gradient {i} differs");
    }

    [Fact]
    public void RunFreesSupersededStreamStatesAndNothingElse()
    {
        manual_seed(31);
        var blocks = new ModuleList<TanhBlock>();
        for (int i = 0; i < 3; i++) blocks.Add(new TanhBlock(8, i));
        using var streams = randn(2, 3, 4, 8);
        Tensor result;
        using (var scope = NewDisposeScope())
        {
            result = HyperStreams.Run(streams, blocks, (block, x) => block.forward(x)).MoveToOuterDisposeScope();
            Assert.All(blocks.Take(2), b => Assert.True(b.LastOutput!.IsInvalid));
            Assert.Same(blocks[2].LastOutput, result);
            Assert.All(blocks, b => Assert.False(b.Cache!.IsInvalid));
        }
        using (result)
        {
            Assert.False(streams.IsInvalid);
            Assert.False(result.IsInvalid);
            Assert.Equal(streams.shape, result.shape);
        }
    }

    [Fact]
    public void RunRejectsAStepThatReturnsNull()
    {
        var blocks = new ModuleList<TanhBlock> { new TanhBlock(8, 0) };
        using var streams = randn(2, 4, 8);
        var error = Assert.Throws<InvalidOperationException>(() => HyperStreams.Run(streams, blocks, (_, _) => null!));
        Assert.Contains("block 0", error.Message);
        Assert.Contains("returned null", error.Message);
    }

    [Theory]
    [InlineData(Variant.NestedBranch)]
    [InlineData(Variant.DeadBranch)]
    [InlineData(Variant.CatchesFailure)]
    public void UnusualBlocksGetTheGradientsOfKeepingEveryStateAndLeaveNothingBehind(Variant second)
    {
        // The second of four blocks: a branch running a connection of its own (which must not take over the
        // outer segment), a branch ignoring its input (whose pre-mix backward never runs), or a connection
        // whose forward throws and is skipped (a link that never merged).
        var grads = new List<Tensor>();
        int live = RecomputeSegment.LiveStates;
        foreach (bool recompute in new[] { false, true })
        {
            var blocks = Stack(channels: 8, seed: 41, recompute, second: second);
            manual_seed(42);
            using var input = randn(3, 4, 8, dtype: ScalarType.Float64).requires_grad_();
            BackwardThrough(blocks, input);
            grads.Add(input.grad!.clone());
            grads.AddRange(blocks.SelectMany(b => b.parameters()).Select(p => p.grad is null ? zeros(1) : p.grad.clone()));
        }

        Assert.Equal(live, RecomputeSegment.LiveStates);
        int half = grads.Count / 2;
        for (int i = 0; i < half; i++)
            Assert.True(Identical(grads[i], grads[half + i]), $"gradient {i} differs");
    }

    [Fact]
    public void AFrozenStartOfTheStackNeitherCrashesNorChangesGradients()
    {
        // Frozen embeddings and a frozen first block: the first merge has nothing to back-propagate into,
        // so it keeps no operands, and the next connection must not re-derive its input from them.
        var grads = new List<Tensor>();
        foreach (bool recompute in new[] { false, true })
        {
            var blocks = Stack(channels: 8, seed: 51, recompute);
            foreach (var p in blocks[0].parameters()) p.requires_grad_(false);
            manual_seed(52);
            using var input = randn(3, 4, 8, dtype: ScalarType.Float64);
            BackwardThrough(blocks, input);
            grads.AddRange(blocks.Skip(1).SelectMany(b => b.parameters()).Select(p => p.grad!.clone()));
        }

        int half = grads.Count / 2;
        for (int i = 0; i < half; i++)
            Assert.True(Identical(grads[i], grads[half + i]), $"gradient {i} differs");
    }

    [Fact]
    public void APartialBackwardLeavesNoTensorsBehindItsScope()
    {
        // autograd.grad for the last block's branch only: the engine never runs the earlier ops that would
        // release the states the last block's ops re-derived; the caller's scope frees them.
        var blocks = Stack(channels: 8, seed: 61, recompute: true);
        manual_seed(62);
        using var input = randn(3, 4, 8, dtype: ScalarType.Float64).requires_grad_();
        var wanted = blocks[3].named_parameters().Where(p => p.name.StartsWith("proj", StringComparison.Ordinal)).Select(p => (Tensor)p.parameter).ToList();
        using (no_grad())
        using (var scope = NewDisposeScope())
            HyperStreams.Run(HyperStreams.Expand(input, 4), blocks, (block, x) => block.forward(x)); // creates the blocks' caches
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long recomputed = RecomputeSegment.StatesRecomputed;
        using (var scope = NewDisposeScope())
        {
            var streams = HyperStreams.Expand(input, 4);
            var loss = HyperStreams.Run(streams, blocks, (block, x) => block.forward(x)).sin().sum();
            var gradients = torch.autograd.grad([loss], wanted);
            Assert.All(gradients, g => Assert.True(g.abs().sum().item<float>() > 0));
        }

        Assert.True(RecomputeSegment.StatesRecomputed > recomputed);
        Assert.Equal(before, DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    public enum Variant { Plain, Rescaled, NestedBranch, DeadBranch, CatchesFailure }

    /// <summary>
    /// Four one-connection blocks (segments of 2 when recomputing), built from <paramref name="seed"/>;
    /// the second is a <paramref name="second"/> block, the others <paramref name="all"/> ones.
    /// </summary>
    private static ModuleList<TanhBlock> Stack(long channels, int seed, bool recompute, Variant all = Variant.Plain, Variant? second = null)
    {
        manual_seed(seed);
        var blocks = new ModuleList<TanhBlock>();
        for (int i = 0; i < 4; i++) blocks.Add(new TanhBlock(channels, i, i == 1 ? second ?? all : all));
        Assert.All(blocks, block => Assert.Equal(1, HyperConnections.EnableRecompute(block, recompute) - (block == blocks[1] && second == Variant.NestedBranch ? 1 : 0)));
        return blocks;
    }

    /// <summary>Back-propagates a scalar of the stack's output into <paramref name="input"/>; returns the states re-derived.</summary>
    private static long BackwardThrough(ModuleList<TanhBlock> blocks, Tensor input)
    {
        long before = RecomputeSegment.StatesRecomputed;
        using var scope = NewDisposeScope();
        var streams = HyperStreams.Expand(input, 4);
        HyperStreams.Run(streams, blocks, (block, x) => block.forward(x)).to_type(ScalarType.Float64).sin().sum().backward();
        return RecomputeSegment.StatesRecomputed - before;
    }

    private static (TinyGpt Plain, TinyGpt Recomputing) Pair(ScalarType dtype, ConnectionConvention convention = ConnectionConvention.MhcSpec)
    {
        var options = new HyperConnectionOptions { Convention = convention };
        manual_seed(3);
        var plain = new TinyGpt(Deep, options);
        manual_seed(3);
        var recomputing = new TinyGpt(Deep, options);
        plain.to(dtype);
        recomputing.to(dtype);
        // Break the symmetry of the zero-initialised coefficient weights, so every path carries gradient.
        foreach (var model in new[] { plain, recomputing })
        {
            manual_seed(4);
            using var noGrad = no_grad();
            foreach (var (name, parameter) in model.named_parameters())
                if (name.EndsWith("phi", StringComparison.Ordinal))
                    parameter.add_(randn_like(parameter) * 0.05);
        }
        return (plain, recomputing);
    }

    private static Tensor Loss(TinyGpt model, Tensor tokens)
    {
        using var scope = NewDisposeScope();
        using var logits = model.forward(tokens);
        return logits.log_softmax(-1).select(-1, 0).mean().neg().MoveToOuterDisposeScope();
    }

    private static void AssertSameGradients(Module a, Module b)
    {
        var left = a.named_parameters().ToList();
        var right = b.named_parameters().ToList();
        Assert.Equal(left.Count, right.Count);
        for (int i = 0; i < left.Count; i++)
        {
            Assert.Equal(left[i].name, right[i].name);
            Assert.NotNull(left[i].parameter.grad);
            Assert.True(Identical(left[i].parameter.grad!, right[i].parameter.grad!), $"gradient of {left[i].name} differs");
        }
    }

    private static bool Identical(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    /// <summary>A block with one mHC connection around a tanh-of-linear branch; keeps a cache and its last output.</summary>
    private sealed class TanhBlock : Module<Tensor, Tensor>
    {
        private readonly HyperConnection hc;
        private readonly Linear proj;
        private readonly HyperConnection? inner;
        private readonly Variant _variant;

        public TanhBlock(long channels, int layer, Variant variant = Variant.Plain) : base(nameof(TanhBlock))
        {
            hc = new HyperConnection(nameof(hc), channels, new HyperConnectionOptions(), layer);
            proj = Linear(channels, channels);
            if (variant == Variant.NestedBranch)
                inner = new HyperConnection(nameof(inner), channels, new HyperConnectionOptions(), layer + 100);
            _variant = variant;
            RegisterComponents();
            using var noGrad = no_grad();
            foreach (var (name, parameter) in named_parameters())
                if (name.EndsWith("phi", StringComparison.Ordinal))
                    parameter.add_(randn_like(parameter) * 0.1);
        }

        public Tensor? LastOutput { get; private set; }

        public Tensor? Cache { get; private set; }

        public override Tensor forward(Tensor x)
        {
            Cache ??= ones(1).DetachFromDisposeScope();
            Func<Tensor, Tensor> branch = h => proj.forward(h.to_type(proj.weight!.dtype)).tanh().to_type(h.dtype);
            switch (_variant)
            {
                case Variant.NestedBranch:
                    var plain = branch;
                    branch = h => HyperStreams.Reduce(inner!.forward(HyperStreams.Expand(h, 4), plain));
                    break;
                case Variant.DeadBranch:
                    branch = h => proj.bias!.expand_as(h).tanh();
                    break;
                case Variant.CatchesFailure:
                    try
                    {
                        return hc.forward(x, _ => throw new InvalidOperationException("branch failed"));
                    }
                    catch (InvalidOperationException)
                    {
                        return x;
                    }
            }
            x = hc.forward(x, branch);
            LastOutput = x;
            return _variant == Variant.Rescaled ? x * 1.5 : x;
        }
    }
}
