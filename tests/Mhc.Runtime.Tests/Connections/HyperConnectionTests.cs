using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Connections;

public class HyperConnectionTests
{
    [Fact]
    public void ParametersUsePyTorchStyleNames()
    {
        using var mhc = new HyperConnection("hc", 8, new HyperConnectionOptions());
        Assert.Equal(new[] { "phi", "bias", "alpha" }, mhc.named_parameters().Select(p => p.name));
        Assert.Equal(new long[] { 32, 24 }, mhc.named_parameters().First().parameter.shape);

        using var hc = new HyperConnection("hc", 8, new HyperConnectionOptions { Kind = ConnectionKind.Hc });
        Assert.Equal(new[] { "theta_pre", "theta_post", "theta_res", "b_pre", "b_post", "b_res", "alpha" },
            hc.named_parameters().Select(p => p.name));

        using var residual = new HyperConnection("hc", 8, new HyperConnectionOptions { Kind = ConnectionKind.Residual, Streams = 1 });
        Assert.Empty(residual.parameters());
    }

    [Theory]
    [InlineData(new long[] { 2, 5, 8 })]        // never expanded
    [InlineData(new long[] { 2, 5, 2, 8 })]     // wrong n
    [InlineData(new long[] { 2, 5, 4, 6 })]     // wrong C
    public void WrongStreamShapeNamesExpectedAndActual(long[] shape)
    {
        using var connection = new HyperConnection("hc", 8, new HyperConnectionOptions());
        using var x = zeros(shape);
        var e = Assert.Throws<ArgumentException>(() => connection.forward(x, h => h));
        Assert.Contains("[..., 4, 8]", e.Message);
        Assert.Contains("[" + string.Join(", ", shape) + "]", e.Message);
    }

    [Theory]
    [InlineData(ConnectionKind.Mhc, true)]
    [InlineData(ConnectionKind.Mhc, false)] // the inference path
    [InlineData(ConnectionKind.Hc, true)]
    [InlineData(ConnectionKind.Residual, false)]
    public void BranchThatChangesTheShapeIsReported(ConnectionKind kind, bool grad)
    {
        using var connection = new HyperConnection("hc", 8, new HyperConnectionOptions { Kind = kind });
        using var x = zeros(2, 3, 4, 8);
        using var mode = grad ? enable_grad() : no_grad();
        var wider = Assert.Throws<InvalidOperationException>(() => connection.forward(x, h => cat(new[] { h, h }, -1)));
        Assert.Contains("returned [2, 3, 16]", wider.Message);
        Assert.Contains("[2, 3, 8]", wider.Message);
        var flattened = Assert.Throws<InvalidOperationException>(() => connection.forward(x, h => h.reshape(6, 8)));
        Assert.Contains("returned [6, 8]", flattened.Message);
    }

    [Fact]
    public void IntegerActivationsAreRejected()
    {
        using var connection = new HyperConnection("hc", 8, new HyperConnectionOptions());
        using var x = zeros(new long[] { 2, 4, 8 }, dtype: ScalarType.Int32);
        var e = Assert.Throws<NotSupportedException>(() => connection.forward(x, h => h));
        Assert.Contains("Int32", e.Message);
    }

    [Theory]
    [InlineData(ConnectionKind.Mhc)]
    [InlineData(ConnectionKind.Hc)]
    public void OneStreamIsOnlyAllowedForTheResidualKind(ConnectionKind kind)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new HyperConnection("hc", 8, new HyperConnectionOptions { Kind = kind, Streams = 1 }));
        Assert.Contains("Residual", e.Message);
    }

    [Fact]
    public void BFloat16ActivationsKeepTheirDtypeWhileMappingsRunInFloat32()
    {
        using var connection = new HyperConnection("hc", 8, new HyperConnectionOptions());
        using var x = randn(3, 4, 8).to_type(ScalarType.BFloat16);
        ScalarType seenByBranch = ScalarType.Float32;
        using var y = connection.forward(x, h => { seenByBranch = h.dtype; return h.tanh(); });
        Assert.Equal(ScalarType.BFloat16, y.dtype);
        Assert.Equal(ScalarType.BFloat16, seenByBranch);
        using var expected = new HyperConnection("hc", 8, new HyperConnectionOptions()).forward(x.to_type(ScalarType.Float32), h => h.tanh());
        Assert.True(TensorAssert.RelativeError(y, expected) < 2e-2);
    }

    [Fact]
    public void FusedAndReferenceConnectionsAgreeIncludingGradients()
    {
        manual_seed(11);
        using var fused = new HyperConnection("hc", 16, new HyperConnectionOptions());
        using var reference = new HyperConnection("hc", 16, new HyperConnectionOptions { Implementation = OpsImplementation.Reference });
        using (no_grad())
            foreach (var ((_, a), (_, b)) in fused.named_parameters().Zip(reference.named_parameters()))
            {
                a.copy_(randn_like(a));
                b.copy_(a);
            }
        using var w = randn(16, 16) * 0.3;
        using var x1 = randn(5, 7, 4, 16).requires_grad_();
        using var x2 = x1.detach().clone().requires_grad_();
        using var y1 = fused.forward(x1, h => h.matmul(w).tanh());
        using var y2 = reference.forward(x2, h => h.matmul(w).tanh());
        TensorAssert.Close(y1, y2, 1e-5, "output");
        using var g = randn_like(y1);
        y1.backward(new[] { g });
        y2.backward(new[] { g });
        TensorAssert.Close(x1.grad!, x2.grad!, 1e-5, "grad x");
        foreach (var ((name, a), (_, b)) in fused.named_parameters().Zip(reference.named_parameters()))
            TensorAssert.Close(a.grad!, b.grad!, 1e-5, "grad " + name);
    }

    [Fact]
    public void TensorsTheBranchKeepsOutliveTheConnectionsForward()
    {
        // A branch may cache tensors it creates (a causal mask, a KV cache): the connection must not
        // dispose them, as it did not before the conversion.
        using var connection = new HyperConnection("hc", 8, new HyperConnectionOptions());
        Tensor? cached = null;
        Tensor Branch(Tensor h)
        {
            cached ??= ones(8);
            return h * cached;
        }
        using var x = randn(3, 4, 8);
        using var first = connection.forward(x, Branch);
        using var second = connection.forward(x, Branch);
        Assert.False(cached!.IsInvalid);
        Assert.True(second.allclose(first));
    }

    [Fact]
    public async Task OptionsOverrideHoldsAcrossAwaitAndIsRestoredAfterIt()
    {
        using (HyperConnections.OverrideOptions(o => o with { Kind = ConnectionKind.Hc }))
        {
            await Task.Yield();
            using var inside = new HyperConnection("a", 8, new HyperConnectionOptions());
            Assert.Equal(ConnectionKind.Hc, inside.Kind);
        }
        using var after = new HyperConnection("b", 8, new HyperConnectionOptions());
        Assert.Equal(ConnectionKind.Mhc, after.Kind);
    }
}
