using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>
/// Central finite differences in float64 against the autograd gradient of loss = Σ op(inputs)·weights,
/// perturbing every element of every input in place.
/// </summary>
internal static class GradientCheck
{
    private const double Step = 1e-6;

    public static void AllInputs(Func<Tensor[], Tensor> op, Tensor[] inputs, Generator generator, string what)
    {
        using var scope = NewDisposeScope();
        var output = op(inputs);
        var weights = randn(output.shape, ScalarType.Float64, generator: generator);
        (output * weights).sum().backward();

        for (int input = 0; input < inputs.Length; input++)
        {
            var analytic = Values(inputs[input].grad!);
            var numeric = new double[analytic.Length];
            for (int e = 0; e < numeric.Length; e++)
            {
                double original = Span64(inputs[input])[e];
                Span64(inputs[input])[e] = original + Step;
                double plus = Loss(op, inputs, weights);
                Span64(inputs[input])[e] = original - Step;
                double minus = Loss(op, inputs, weights);
                Span64(inputs[input])[e] = original;
                numeric[e] = (plus - minus) / (2 * Step);
            }

            for (int e = 0; e < numeric.Length; e++)
            {
                double error = Math.Abs(numeric[e] - analytic[e]);
                Assert.True(error <= 1e-6 * Math.Max(1, Math.Abs(numeric[e])),
                    $"{what}: input {input} element {e}: analytic {analytic[e]:R}, numeric {numeric[e]:R}");
            }
            Assert.Contains(analytic, g => g != 0);
        }
    }

    private static double Loss(Func<Tensor[], Tensor> op, Tensor[] inputs, Tensor weights)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return (op(inputs) * weights).sum().item<double>();
    }
}
