using Mhc.Runtime.Ops;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>
/// Fused against reference on inputs large enough that every fused kernel splits the work over threads
/// (501 tokens: not a multiple of any SIMD width or tile, so the tails are exercised too).
/// </summary>
public class FusedVersusReferenceTests
{
    private const long N = 4, Channels = 64;
    private static readonly long[] Leading = [3, 167];

    private sealed record Inputs(Tensor X, Tensor Phi, Tensor Bias, Tensor Alpha, Tensor W, Tensor GradOutput)
    {
        public Tensor[] Parameters => [X, Phi, Bias, Alpha, W];

        public static Inputs Make(ScalarType dtype, int seed)
        {
            var g = manual_seed(seed);
            long m = N * N + 2 * N;
            return new Inputs(
                Random([.. Leading, N, Channels], 1.0, dtype, g, requiresGrad: true),
                Random([N * Channels, m], 0.05, dtype, g, requiresGrad: true),
                Random([m], 1.0, dtype, g, requiresGrad: true),
                FromValues([0.5, 0.3, 1.0], [3], dtype, requiresGrad: true),
                Random([Channels, Channels], 0.1, dtype, g, requiresGrad: true),
                Random([.. Leading, N, Channels], 1.0, dtype, g));
        }

        public Inputs DetachedCopy() => new(Leaf(X), Leaf(Phi), Leaf(Bias), Leaf(Alpha), Leaf(W), GradOutput);

        private static Tensor Leaf(Tensor t) => t.detach().clone().requires_grad_(true);
    }

    [Theory]
    [InlineData(ScalarType.Float32, 1e-5)]
    [InlineData(ScalarType.Float64, 1e-11)]
    public void WholeConnectionAgreesForwardAndBackward(ScalarType dtype, double tolerance)
    {
        using var scope = NewDisposeScope();
        var fusedInputs = Inputs.Make(dtype, 61);
        var referenceInputs = fusedInputs.DetachedCopy();

        var fused = Run(fusedInputs, OpsImplementation.Fused);
        var reference = Run(referenceInputs, OpsImplementation.Reference);

        Close(fused.Pre, reference.Pre, tolerance, "h_pre");
        Close(fused.Post, reference.Post, tolerance, "h_post");
        Close(fused.HRes, reference.HRes, tolerance, "h_res");
        Close(fused.Output, reference.Output, tolerance, "output");
        string[] names = ["x", "phi", "bias", "alpha", "W"];
        for (int i = 0; i < names.Length; i++)
            Close(fusedInputs.Parameters[i].grad!, referenceInputs.Parameters[i].grad!, tolerance, "grad " + names[i]);
    }

    [Fact]
    public void CoefficientsWithOnlySomeOutputsUsedGetZeroForTheRest()
    {
        using var scope = NewDisposeScope();
        var fusedInputs = Inputs.Make(ScalarType.Float64, 67);
        var referenceInputs = fusedInputs.DetachedCopy();
        foreach (var (inputs, implementation) in new[] { (fusedInputs, OpsImplementation.Fused), (referenceInputs, OpsImplementation.Reference) })
        {
            var (_, post, res) = MhcOps.Coefficients(inputs.X, inputs.Phi, inputs.Bias, inputs.Alpha, implementation: implementation);
            (res.square().sum() + post.sum()).backward();
        }
        Close(fusedInputs.X.grad!, referenceInputs.X.grad!, 1e-11, "grad x");
        Close(fusedInputs.Phi.grad!, referenceInputs.Phi.grad!, 1e-11, "grad phi");
        Close(fusedInputs.Bias.grad!, referenceInputs.Bias.grad!, 1e-11, "grad bias");
        // H_pre took no part in the loss, so its bias entries get exactly nothing.
        Assert.All(Values(fusedInputs.Bias.grad!.narrow(0, 0, N)), g => Assert.Equal(0.0, g));
    }

    [Theory]
    [InlineData(2L)]
    [InlineData(4L)]
    public void MixingKernelsAgreeInFloat32WithVectorsAndATail(long n)
    {
        // 21 channels: two float32 vectors of 8 and a scalar tail of 5, through the n = 4 unrolled
        // kernels and the general ones.
        using var scope = NewDisposeScope();
        var generator = manual_seed(73 + n);
        const long channels = 21;
        Tensor[] fused =
        [
            Random([3, 7, n, channels], 1.0, ScalarType.Float32, generator, requiresGrad: true),
            Random([3, 7, n, n], 1.0, ScalarType.Float32, generator, requiresGrad: true),
            Random([3, 7, n], 1.0, ScalarType.Float32, generator, requiresGrad: true),
            Random([3, 7, channels], 1.0, ScalarType.Float32, generator, requiresGrad: true),
        ];
        var reference = fused.Select(t => t.detach().clone().requires_grad_(true)).ToArray();
        var gradOutput = Random([3, 7, n, channels], 1.0, ScalarType.Float32, generator);
        var gradMixed = Random([3, 7, channels], 1.0, ScalarType.Float32, generator);
        foreach (var (t, implementation) in new[] { (fused, OpsImplementation.Fused), (reference, OpsImplementation.Reference) })
        {
            var merged = MhcOps.Merge(t[0], t[1], t[2], t[3], implementation);
            var mixed = MhcOps.PreMix(t[0], t[2], implementation);
            ((merged * gradOutput).sum() + (mixed * gradMixed).sum()).backward();
        }
        string[] names = ["x", "hRes", "hPost/hPre", "branch"];
        for (int i = 0; i < names.Length; i++)
            Close(fused[i].grad!, reference[i].grad!, 1e-5, "grad " + names[i]);
        Close(MhcOps.Merge(fused[0], fused[1], fused[2], fused[3]), MhcOps.Merge(reference[0], reference[1], reference[2], reference[3],
            OpsImplementation.Reference), 1e-5, "merge");
        Close(MhcOps.PreMix(fused[0], fused[2]), MhcOps.PreMix(reference[0], reference[2], OpsImplementation.Reference), 1e-5, "pre-mix");
    }

    [Fact]
    public void BackwardAcceptsBroadcastGradients()
    {
        using var scope = NewDisposeScope();
        var generator = manual_seed(71);
        var logits = Random([5, 4, 4], 2.0, ScalarType.Float64, generator, requiresGrad: true);
        var referenceLogits = logits.detach().clone().requires_grad_(true);
        // sum() hands back an expanded (stride 0) gradient, which the kernels must not read as dense.
        MhcOps.Sinkhorn(logits, 20).pow(2).sum().backward();
        MhcOps.Sinkhorn(referenceLogits, 20, OpsImplementation.Reference).pow(2).sum().backward();
        Close(logits.grad!, referenceLogits.grad!, 1e-11, "grad logits");

        var x = Random([5, 4, 8], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        var hPre = Random([5, 4], 1.0, ScalarType.Float64, generator, requiresGrad: true);
        MhcOps.PreMix(x, hPre).sum().backward();
        Close(hPre.grad!, x.detach().sum(-1L), 1e-12, "grad hPre");
    }

    [Fact]
    public void EmptyBatchGivesEmptyOutputsAndZeroWeightGradients()
    {
        using var scope = NewDisposeScope();
        var x = zeros([0, 4, 8], requires_grad: true);
        var phi = ones([32, 24], requires_grad: true);
        var bias = ones([24], requires_grad: true);
        var alpha = ones([3], requires_grad: true);
        var w = ones([8, 8], requires_grad: true);

        var result = MhcConnection.Run(x, phi, bias, alpha, w, 20, 1e-6, OpsImplementation.Fused);
        result.Output.sum().backward();

        Assert.Equal([0L, 4L, 8L], result.Output.shape);
        Assert.Equal([0L, 4L, 4L], result.HRes.shape);
        Assert.Equal(0.0, phi.grad!.abs().sum().item<float>());
        Assert.Equal(0.0, bias.grad!.abs().sum().item<float>());
    }

    private static ConnectionResult Run(Inputs inputs, OpsImplementation implementation)
    {
        var result = MhcConnection.Run(inputs.X, inputs.Phi, inputs.Bias, inputs.Alpha, inputs.W, 20, 1e-6, implementation);
        (result.Output * inputs.GradOutput).sum().backward();
        return result;
    }
}
