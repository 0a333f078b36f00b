namespace Mhc.Runtime.Tests.Ops;

public class GradientHandleTests
{
    // TorchSharp registers the gradients that enter and leave a custom backward on the scope that called
    // backward(). Kept there they add up over the whole pass, several n·C tensors per connection, and make
    // the backward the memory peak of a training step; the fused ops end them as soon as the engine is done.
    [Fact]
    public void BackwardLeavesAsManyTensorsInTheCallersScopeForADeepStackAsForAShallowOne()
    {
        long shallow = TensorsLeftInScopeByBackward(depth: 2);
        long deep = TensorsLeftInScopeByBackward(depth: 6);

        Assert.Equal(shallow, deep);
    }

    [Fact]
    public void EarlyReleaseLeavesTheGradientsEqualToTheReferencePath()
    {
        var (fused, _) = StackGradients(depth: 4, OpsImplementation.Fused);
        var (reference, _) = StackGradients(depth: 4, OpsImplementation.Reference);

        Assert.Equal(reference.Count, fused.Count);
        foreach (var (f, r) in fused.Zip(reference))
        {
            Assert.True(f.allclose(r, rtol: 1e-9, atol: 1e-11), $"max |difference| {(f - r).abs().max().item<double>():E2}");
            f.Dispose();
            r.Dispose();
        }
    }

    private static long TensorsLeftInScopeByBackward(int depth)
    {
        var (grads, left) = StackGradients(depth);
        foreach (var g in grads) g.Dispose();
        return left;
    }

    private static (List<Tensor> Gradients, long LeftByBackward) StackGradients(int depth, OpsImplementation implementation = OpsImplementation.Fused)
    {
        manual_seed(5);
        var connections = Enumerable.Range(0, depth)
            .Select(i => new HyperConnection($"hc{i}", 8, new HyperConnectionOptions { Implementation = implementation }, layerIndex: i)).ToList();
        using var w = randn(8, 8, dtype: ScalarType.Float64) * 0.3;
        using var input = randn(6, 4, 8, dtype: ScalarType.Float64).requires_grad_();
        foreach (var c in connections) c.to(ScalarType.Float64);

        long left;
        using (var scope = NewDisposeScope())
        {
            var x = input;
            foreach (var connection in connections)
                x = connection.forward(x, h => h.matmul(w).tanh());
            var loss = x.square().sum();
            long beforeBackward = scope.DisposablesCount;
            loss.backward();
            left = scope.DisposablesCount - beforeBackward;
        }

        var grads = new List<Tensor> { input.grad!.detach().clone() };
        grads.AddRange(connections.SelectMany(c => c.parameters()).Select(p => p.grad!.detach().clone()));
        foreach (var c in connections) c.Dispose();
        return (grads, left);
    }
}
