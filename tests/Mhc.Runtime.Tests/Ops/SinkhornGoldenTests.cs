using Mhc.Runtime.Ops;
using Mhc.Runtime.Tests.Golden;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

public class SinkhornGoldenTests
{
    private static readonly string[] Files = ["sinkhorn_n4_t20.json", "sinkhorn_n2_n8.json"];

    public static TheoryData<string, int, OpsImplementation, ScalarType> Cases()
    {
        var data = new TheoryData<string, int, OpsImplementation, ScalarType>();
        foreach (var file in Files)
            for (int i = 0; i < GoldenCases.Sinkhorn(file).Count; i++)
                foreach (var implementation in new[] { OpsImplementation.Fused, OpsImplementation.Reference, OpsImplementation.Device })
                    foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
                        if (implementation != OpsImplementation.Device || dtype == ScalarType.Float32) // the device kernels are float32
                            data.Add(file, i, implementation, dtype);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void OutputGradientAndErrorsMatchGolden(string file, int index, OpsImplementation implementation, ScalarType dtype)
    {
        var golden = GoldenCases.Sinkhorn(file)[index];
        using var scope = NewDisposeScope();
        var logits = FromValues(golden.Logits, golden.Shape, dtype, requiresGrad: true);
        var gradOutput = FromValues(golden.GradOutput, golden.Shape, dtype);

        var output = MhcOps.Sinkhorn(logits, golden.Iters, implementation);
        (output * gradOutput).sum().backward();

        double tolerance = Tolerance(dtype);
        Close(output, golden.Output, tolerance, "output");
        Close(logits.grad!, golden.GradLogits, tolerance, "grad_logits");

        using var output64 = output.detach().to(ScalarType.Float64);
        double rowError = (output64.sum(-1L) - 1).abs().max().item<double>();
        double colError = (output64.sum(-2L) - 1).abs().max().item<double>();
        Assert.True(rowError <= (dtype == ScalarType.Float32 ? 1e-6 : 1e-14), $"row error {rowError:E3}");
        // Columns are only approximately normalised (rows go last); the error must be the golden one, not hidden.
        double slack = dtype == ScalarType.Float32 ? 1e-6 : 1e-12;
        Assert.InRange(colError, golden.MaxColError * 0.99 - slack, golden.MaxColError * 1.01 + slack);
    }
}
