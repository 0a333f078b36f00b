using Mhc.Runtime.Ops;
using Mhc.Runtime.Tests.Ops;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Conventions;

/// <summary>
/// The Megatron-LM and DeepSeek-V4 conventions (docs/compat-spec.md): both implementations against the plain-loop
/// formulas of <see cref="ConventionLoops"/>, fused against reference, and the fused backward against float64
/// finite differences. MHC-SPEC runs through the same loops as a control.
/// </summary>
public class ConventionTests
{
    private const int N = 4, Channels = 5, Iterations = 20;
    private const double RmsEps = 1e-6;
    private static readonly long[] Leading = [2, 3];

    /// <summary>The CPU paths that compute every convention (the device kernels compute MHC-SPEC's only, in float32).</summary>
    private static readonly OpsImplementation[] CpuPaths = [OpsImplementation.Fused, OpsImplementation.Reference];

    public static TheoryData<ConnectionConvention, OpsImplementation> Paths()
    {
        var data = new TheoryData<ConnectionConvention, OpsImplementation>();
        foreach (var convention in Enum.GetValues<ConnectionConvention>())
            foreach (var implementation in CpuPaths)
                data.Add(convention, implementation);
        return data;
    }

    public static TheoryData<ConnectionConvention> CompatConventions => [ConnectionConvention.Megatron, ConnectionConvention.DeepSeekV4];

    /// <summary>Random float64 parameters of one connection; x has a small RMS so the placement of the RMS ε shows.</summary>
    private sealed record Case(Tensor X, Tensor Phi, Tensor Bias, Tensor Alpha, Tensor W)
    {
        public static Case Make(int seed, int n = N)
        {
            var g = manual_seed(seed);
            long m = n * n + 2 * n;
            return new Case(
                Random([.. Leading, n, Channels], 0.02, ScalarType.Float64, g),
                Random([n * Channels, m], 20.0, ScalarType.Float64, g),
                Random([m], 1.0, ScalarType.Float64, g),
                FromValues([0.7, -0.4, 1.3], [3], ScalarType.Float64),
                Random([Channels, Channels], 0.5, ScalarType.Float64, g));
        }

        public LoopResult Loops(ConnectionConvention convention, int token)
        {
            int n = (int)X.shape[^2];
            var x = Matrix(X.reshape(-1, n, Channels)[token], n, Channels);
            return ConventionLoops.Connection(convention, x, Matrix(Phi, (int)Phi.shape[0], (int)Phi.shape[1]), Values(Bias),
                Values(Alpha), Matrix(W, Channels, Channels), Iterations, RmsEps);
        }

        public int Tokens => (int)(Leading[0] * Leading[1]);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void OpsMatchThePlainLoopFormulas(ConnectionConvention convention, OpsImplementation implementation)
    {
        using var scope = NewDisposeScope();
        var c = Case.Make(5);
        var result = MhcConnection.Run(c.X, c.Phi, c.Bias, c.Alpha, c.W, Iterations, RmsEps, implementation, convention);
        for (int token = 0; token < c.Tokens; token++)
        {
            var expected = c.Loops(convention, token);
            AssertClose(expected.Pre, Values(result.Pre.reshape(-1, N)[token]), $"{convention} H_pre, token {token}");
            AssertClose(expected.Post, Values(result.Post.reshape(-1, N)[token]), $"{convention} H_post, token {token}");
            AssertClose(Flat(expected.HRes), Values(result.HRes.reshape(-1, N, N)[token]), $"{convention} H_res, token {token}");
            AssertClose(Flat(expected.Output), Values(result.Output.reshape(-1, N, Channels)[token]), $"{convention} output, token {token}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void TheConnectionModuleHonoursItsConvention(ConnectionConvention convention, OpsImplementation implementation)
    {
        using var scope = NewDisposeScope();
        var c = Case.Make(6);
        using var connection = new HyperConnection("hc", Channels,
            new HyperConnectionOptions { Streams = N, Convention = convention, Implementation = implementation, SinkhornIterations = Iterations });
        connection.to(ScalarType.Float64);
        using (no_grad())
        {
            var parameters = connection.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            parameters["phi"].copy_(c.Phi);
            parameters["bias"].copy_(c.Bias);
            parameters["alpha"].copy_(c.Alpha);
        }

        var output = connection.forward(c.X, h => h.matmul(c.W).tanh());
        for (int token = 0; token < c.Tokens; token++)
            AssertClose(Flat(c.Loops(convention, token).Output), Values(output.reshape(-1, N, Channels)[token]),
                $"{convention} {implementation} module output, token {token}");
    }

    /// <summary>The loops above could not tell the conventions apart if these differences were within their tolerance.</summary>
    [Fact]
    public void TheConventionsComputeDifferentOutputs()
    {
        using var scope = NewDisposeScope();
        var c = Case.Make(5);
        var all = Enum.GetValues<ConnectionConvention>();
        foreach (var a in all)
            foreach (var b in all.Where(b => b > a))
            {
                double difference = Flat(c.Loops(a, 0).Output).Zip(Flat(c.Loops(b, 0).Output), (u, v) => Math.Abs(u - v)).Max();
                Assert.True(difference > 1e-9, $"{a} and {b} differ by only {difference:E2}");
            }
    }

    [Theory]
    [InlineData(OpsImplementation.Fused)]
    [InlineData(OpsImplementation.Reference)]
    public void SoftmaxSinkhornEndsOnColumns(OpsImplementation implementation)
    {
        using var scope = NewDisposeScope();
        var logits = Random([50, N, N], 4.0, ScalarType.Float64, manual_seed(8));
        var output = MhcOps.Sinkhorn(logits, Iterations, implementation, ConnectionConvention.Megatron);
        // A column sums to S/(S + ε) with S ≈ 1 after its last step: within 2ε of 1.
        double columnError = (output.sum(-2L) - 1).abs().max().item<double>();
        Assert.True(columnError < 2e-6, $"column sums off by {columnError:E2}");
        Assert.True((output >= 0).all().item<bool>());
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-11)]
    public void FusedAgreesWithReferenceForwardAndBackward(ScalarType dtype, double tolerance)
    {
        foreach (var convention in new[] { ConnectionConvention.Megatron, ConnectionConvention.DeepSeekV4 })
        {
            using var scope = NewDisposeScope();
            var g = manual_seed(9);
            long m = N * N + 2 * N;
            const long channels = 64;
            Tensor[] fused =
            [
                Random([3, 167, N, channels], 1.0, dtype, g, requiresGrad: true),
                Random([N * channels, m], 0.05, dtype, g, requiresGrad: true),
                Random([m], 1.0, dtype, g, requiresGrad: true),
                FromValues([0.5, 0.3, 1.0], [3], dtype, requiresGrad: true),
                Random([channels, channels], 0.1, dtype, g, requiresGrad: true),
            ];
            var reference = fused.Select(t => t.detach().clone().requires_grad_(true)).ToArray();
            var weights = Random([3, 167, N, channels], 1.0, dtype, g);

            var f = MhcConnection.Run(fused[0], fused[1], fused[2], fused[3], fused[4], Iterations, RmsEps, OpsImplementation.Fused, convention);
            var r = MhcConnection.Run(reference[0], reference[1], reference[2], reference[3], reference[4], Iterations, RmsEps,
                OpsImplementation.Reference, convention);
            Close(f.Pre, r.Pre, tolerance, $"{convention} H_pre");
            Close(f.Post, r.Post, tolerance, $"{convention} H_post");
            Close(f.HRes, r.HRes, tolerance, $"{convention} H_res");
            Close(f.Output, r.Output, tolerance, $"{convention} output");
            (f.Output * weights).sum().backward();
            (r.Output * weights).sum().backward();
            string[] names = ["x", "phi", "bias", "alpha", "W"];
            for (int i = 0; i < names.Length; i++)
                Close(fused[i].grad!, reference[i].grad!, tolerance, $"{convention} grad {names[i]}");
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void SoftmaxSinkhornBackwardMatchesFiniteDifferences(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(51 + n);
        var logits = Random([.. Leading, n, n], 2.0, ScalarType.Float64, generator, requiresGrad: true);
        GradientCheck.AllInputs(t => MhcOps.Sinkhorn(t[0], Iterations, OpsImplementation.Fused, ConnectionConvention.Megatron),
            [logits], generator, "softmax sinkhorn");
    }

    [Theory]
    [InlineData(ConnectionConvention.Megatron, 2)]
    [InlineData(ConnectionConvention.Megatron, 3)]
    [InlineData(ConnectionConvention.Megatron, 4)]
    [InlineData(ConnectionConvention.DeepSeekV4, 3)]
    public void CoefficientsBackwardMatchesFiniteDifferences(ConnectionConvention convention, long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(61 + n);
        long m = n * n + 2 * n;
        // x with an RMS of about 0.1: the ε term moves the gradient by about 1e-5 relative, ten times the check's
        // bound, while the finite-difference step (1e-6) stays small enough against x for central differences.
        var x = Random([.. Leading, n, Channels], 0.1, ScalarType.Float64, generator, requiresGrad: true);
        var phi = Random([n * Channels, m], 0.5, ScalarType.Float64, generator, requiresGrad: true);
        var bias = Random([m], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var alpha = FromValues([0.7, -0.4, 1.3], [3], ScalarType.Float64, requiresGrad: true);
        GradientCheck.AllInputs(t =>
        {
            var (pre, post, res) = MhcOps.Coefficients(t[0], t[1], t[2], t[3], RmsEps, OpsImplementation.Fused, convention);
            return cat([pre.flatten(), post.flatten(), res.flatten()]);
        }, [x, phi, bias, alpha], generator, $"{convention} coefficients");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void TransposedMergeBackwardMatchesFiniteDifferences(long n)
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(71 + n);
        var x = Random([.. Leading, n, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var hRes = Random([.. Leading, n, n], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var hPost = Random([.. Leading, n], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var branch = Random([.. Leading, Channels], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        GradientCheck.AllInputs(t => MhcOps.Merge(t[0], t[1], t[2], t[3], OpsImplementation.Fused, ConnectionConvention.Megatron),
            [x, hRes, hPost, branch], generator, "transposed merge");
    }

    [Fact]
    public void ZeroStreamsUnderMegatronGiveFiniteGradientsOnBothPaths()
    {
        using var scope = NewDisposeScope();
        long m = N * N + 2 * N;
        var g = manual_seed(12);
        var phi = Random([N * Channels, m], 0.5, ScalarType.Float64, g);
        var bias = Random([m], 1.0, ScalarType.Float64, g);
        var alpha = FromValues([0.7, -0.4, 1.3], [3], ScalarType.Float64);
        var grads = CpuPaths.Select(implementation =>
        {
            var x = zeros([2, N, Channels], ScalarType.Float64).requires_grad_(true);
            var (pre, post, res) = MhcOps.Coefficients(x, phi, bias, alpha, RmsEps, implementation, ConnectionConvention.Megatron);
            (pre.sum() + post.sum() + res.square().sum()).backward();
            return x.grad!;
        }).ToArray();
        Assert.True(grads[0].isfinite().all().item<bool>());
        Close(grads[0], grads[1], 1e-12, "grad x at x = 0");
    }

    [Fact]
    public void ConventionsOtherThanMhcSpecNeedAnMhcConnection()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            new HyperConnection("hc", 8, new HyperConnectionOptions { Kind = ConnectionKind.Hc, Convention = ConnectionConvention.Megatron }));
        Assert.Equal("Convention", error.ParamName);
        Assert.Contains("mHC connections only", error.Message);
    }

    [Fact]
    public void OpsRejectAnUnknownConventionNamingTheKnownOnes()
    {
        using var scope = NewDisposeScope();
        var unknown = (ConnectionConvention)7;
        var errors = new Exception[]
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => MhcOps.Sinkhorn(zeros(2, 4, 4), 20, OpsImplementation.Fused, unknown)),
            Assert.Throws<ArgumentOutOfRangeException>(() =>
                MhcOps.Coefficients(zeros(2, 4, 8), zeros(32, 24), zeros(24), zeros(3), 1e-6, OpsImplementation.Reference, unknown)),
            Assert.Throws<ArgumentOutOfRangeException>(() =>
                MhcOps.Merge(zeros(2, 4, 8), zeros(2, 4, 4), zeros(2, 4), zeros(2, 8), OpsImplementation.Fused, unknown)),
        };
        Assert.All(errors, e => Assert.Contains("MhcSpec, Megatron, DeepSeekV4", e.Message));
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    private static double[,] Matrix(Tensor t, int rows, int cols)
    {
        var values = Values(t);
        var matrix = new double[rows, cols];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                matrix[i, j] = values[i * cols + j];
        return matrix;
    }

    private static double[] Flat(double[,] matrix) => matrix.Cast<double>().ToArray();
}
