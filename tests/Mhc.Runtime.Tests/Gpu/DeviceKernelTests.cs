using Mhc.Runtime.Ops;
using Mhc.Runtime.Tests.Ops;
using Mhc.Runtime.Tests.Support;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Gpu;

/// <summary>
/// The device kernels, run on ILGPU's CPU accelerator (the GPU execution model, emulated), against the
/// reference path computed in float64 on the same float32 inputs: forward and every gradient of a whole
/// connection, n = 2, 4, 8, shapes that divide no group size. The golden cases run them too
/// (MhcLayerGoldenTests, SinkhornGoldenTests). Sizes stay small: the emulation is slow.
/// </summary>
public class DeviceKernelTests
{
    private const double Tolerance = 1e-5;

    private sealed record Inputs(Tensor X, Tensor Phi, Tensor Bias, Tensor Alpha, Tensor W, Tensor GradOutput)
    {
        public Tensor[] Parameters => [X, Phi, Bias, Alpha, W];

        public static Inputs Make(long[] leading, long n, long channels, int seed)
        {
            var g = manual_seed(seed);
            long m = n * n + 2 * n;
            return new Inputs(
                Random([.. leading, n, channels], 1.0, ScalarType.Float32, g, requiresGrad: true),
                Random([n * channels, m], 0.3, ScalarType.Float32, g, requiresGrad: true),
                Random([m], 1.0, ScalarType.Float32, g, requiresGrad: true),
                FromValues([0.5, 0.3, 1.0], [3], ScalarType.Float32, requiresGrad: true),
                Random([channels, channels], 0.3, ScalarType.Float32, g, requiresGrad: true),
                Random([.. leading, n, channels], 1.0, ScalarType.Float32, g));
        }

        public Inputs Copy(ScalarType dtype) => new(Leaf(X, dtype), Leaf(Phi, dtype), Leaf(Bias, dtype), Leaf(Alpha, dtype), Leaf(W, dtype),
            GradOutput.to_type(dtype));

        private static Tensor Leaf(Tensor t, ScalarType dtype) => t.detach().to_type(dtype).clone().requires_grad_(true);
    }

    private static ConnectionResult Run(Inputs inputs, OpsImplementation implementation, int iterations = 20)
    {
        var result = MhcConnection.Run(inputs.X, inputs.Phi, inputs.Bias, inputs.Alpha, inputs.W, iterations, 1e-6, implementation);
        (result.Output * inputs.GradOutput).sum().backward();
        return result;
    }

    [Theory]
    [InlineData(2L, 13L, new long[] { 7 })]
    [InlineData(4L, 24L, new long[] { 3, 5 })]
    [InlineData(8L, 9L, new long[] { 11 })]
    public void AWholeConnectionMatchesTheReferenceForwardAndBackward(long n, long channels, long[] leading)
    {
        using var scope = NewDisposeScope();
        var device = Inputs.Make(leading, n, channels, seed: (int)(n * 100 + channels));
        var reference = device.Copy(ScalarType.Float64);

        var ours = Run(device, OpsImplementation.Device);
        var expected = Run(reference, OpsImplementation.Reference);

        Close(ours.Pre, expected.Pre, Tolerance, "h_pre");
        Close(ours.Post, expected.Post, Tolerance, "h_post");
        Close(ours.HRes, expected.HRes, Tolerance, "h_res");
        Close(ours.Output, expected.Output, Tolerance, "output");
        string[] names = ["x", "phi", "bias", "alpha", "W"];
        for (int i = 0; i < names.Length; i++)
            Close(device.Parameters[i].grad!, reference.Parameters[i].grad!, Tolerance, "grad " + names[i]);
    }

    [Fact]
    public void AnEmptyBatchLaunchesNothingAndGivesZeroParameterGradients()
    {
        using var scope = NewDisposeScope();
        var inputs = Inputs.Make([0], 2, 5, seed: 3);
        var result = Run(inputs, OpsImplementation.Device);
        Assert.Equal([0L, 2, 5], result.Output.shape);
        Assert.All(Values(inputs.Phi.grad!), g => Assert.Equal(0.0, g));
        Assert.All(Values(inputs.Alpha.grad!), g => Assert.Equal(0.0, g));
    }

    [Fact]
    public void GradientsAreBitIdenticalFromRunToRun()
    {
        using var scope = NewDisposeScope();
        var first = Inputs.Make([9], 4, 16, seed: 5);
        var second = first.Copy(ScalarType.Float32);
        Run(first, OpsImplementation.Device);
        Run(second, OpsImplementation.Device);
        for (int i = 0; i < first.Parameters.Length; i++)
            Assert.True(Values(first.Parameters[i].grad!).SequenceEqual(Values(second.Parameters[i].grad!)), $"gradient {i} differs between two runs");
    }

    [Fact]
    public void SinkhornWithAVanishingRowGivesAZeroRowAndFiniteGradients()
    {
        using var scope = NewDisposeScope();
        // Row 0 lies far below the rest of every column: its sum is empty (SinkhornNumerics).
        var logits = tensor(new float[] { -60, -60, -60, 0, 1, 2, 2, 0, 1 }).reshape(1, 3, 3).requires_grad_(true);
        var reference = logits.detach().clone().requires_grad_(true);
        var ours = MhcOps.Sinkhorn(logits, 20, OpsImplementation.Device);
        var expected = MhcOps.Sinkhorn(reference, 20, OpsImplementation.Reference);
        using var weights = arange(9, dtype: ScalarType.Float32).reshape(1, 3, 3);
        (ours * weights).sum().backward();
        (expected * weights).sum().backward();
        Close(ours, expected, Tolerance, "output");
        // The surviving 2×2 block is doubly stochastic already: its true gradient is 0 and every
        // implementation returns float32 noise around it, so compare absolutely.
        Assert.True(TensorAssert.MaxAbsDifference(logits.grad!, reference.grad!) <= 1e-6, "grad");
        Assert.All(Values(logits.grad!), g => Assert.True(double.IsFinite(g)));
        Assert.All(Values(ours.narrow(1, 0, 1)), v => Assert.Equal(0.0, v));
    }

    [Fact]
    public void AHyperConnectionDispatchesToTheDeviceKernelsAndAgreesWithTheReference()
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        var options = new HyperConnectionOptions { Streams = 4, Implementation = OpsImplementation.Device };
        using var device = new HyperConnection("c", 12, options, layerIndex: 1);
        using var reference = new HyperConnection("c", 12, options with { Implementation = OpsImplementation.Reference }, layerIndex: 1);
        reference.load_state_dict(device.state_dict());
        using (no_grad())
            foreach (var p in device.parameters()) p.add_(randn_like(p) * 0.1);
        reference.load_state_dict(device.state_dict());

        var x = randn(5, 4, 12).requires_grad_(true);
        var xRef = x.detach().clone().requires_grad_(true);
        var y = device.forward(x, h => h.sin());
        var yRef = reference.forward(xRef, h => h.sin());
        y.square().sum().backward();
        yRef.square().sum().backward();

        Close(y, yRef, Tolerance, "output");
        Close(x.grad!, xRef.grad!, Tolerance, "grad x");
        foreach (var (name, p) in device.named_parameters())
            Close(p.grad!, reference.get_parameter(name)!.grad!, Tolerance, "grad " + name);
    }

    [Fact]
    public void WhatTheKernelsDoNotTakeIsRefusedWithTheReason()
    {
        using var scope = NewDisposeScope();
        var tooMany = Assert.Throws<NotSupportedException>(() => MhcOps.Sinkhorn(zeros(2, 9, 9), 3, OpsImplementation.Device));
        Assert.Contains("at most 8", tooMany.Message);
        var doubles = Assert.Throws<NotSupportedException>(() => MhcOps.PreMix(zeros(2, 4, 3, dtype: ScalarType.Float64),
            zeros(2, 4, dtype: ScalarType.Float64), OpsImplementation.Device));
        Assert.Contains("Float32 only", doubles.Message);
        var strided = Assert.Throws<ArgumentException>(() => MhcOps.PreMix(zeros(2, 3, 4).transpose(1, 2), zeros(2, 4), OpsImplementation.Device));
        Assert.Contains("not contiguous", strided.Message);
        foreach (var convention in new[] { ConnectionConvention.Megatron, ConnectionConvention.DeepSeekV4 })
        {
            var other = Assert.Throws<NotSupportedException>(() => MhcOps.Sinkhorn(zeros(2, 4, 4), 3, OpsImplementation.Device, convention));
            Assert.Contains($"not {convention}", other.Message);
            Assert.Throws<NotSupportedException>(() => MhcOps.Merge(zeros(2, 4, 3), zeros(2, 4, 4), zeros(2, 4), zeros(2, 3), OpsImplementation.Device, convention));
        }
    }
}
