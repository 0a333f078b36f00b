using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

/// <summary>
/// Central finite differences in float64 against the autograd gradient of loss = Σ op(inputs)·weights,
/// perturbing every element of every input in place; each element within
/// <see cref="RelativeBound"/>·|g| + <see cref="AbsoluteBound"/>.
/// </summary>
internal static class GradientCheck
{
    private const double Step = 1e-6;

    /// <summary>
    /// The bound is relative, so a small gradient must be as accurate as a large one; the absolute part
    /// covers the rounding of the differenced losses (about 1e-16·|loss| / step: seen up to 5e-9 here).
    /// </summary>
    private const double RelativeBound = 1e-7, AbsoluteBound = 1e-8;

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
                Assert.True(error <= RelativeBound * Math.Abs(numeric[e]) + AbsoluteBound,
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
