using Mhc.Runtime.Tests.Golden;
using static Mhc.Runtime.Tests.Ops.OpsAssert;

namespace Mhc.Runtime.Tests.Ops;

public class MhcLayerGoldenTests
{
    public static TheoryData<int, OpsImplementation, ScalarType> Cases()
    {
        var data = new TheoryData<int, OpsImplementation, ScalarType>();
        for (int i = 0; i < GoldenCases.MhcLayer().Count; i++)
            foreach (var implementation in new[] { OpsImplementation.Fused, OpsImplementation.Reference, OpsImplementation.Device })
                foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
                    if (implementation != OpsImplementation.Device || dtype == ScalarType.Float32) // the device kernels are float32
                        data.Add(i, implementation, dtype);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConnectionOutputsAndGradientsMatchGolden(int index, OpsImplementation implementation, ScalarType dtype)
    {
        var golden = GoldenCases.MhcLayer()[index];
        using var scope = NewDisposeScope();
        long n = golden.N, c = golden.Channels;
        var x = FromValues(golden.X, golden.XShape, dtype, requiresGrad: true);
        var phi = FromValues(golden.Phi, golden.PhiShape, dtype, requiresGrad: true);
        var bias = FromValues(golden.B, [n * n + 2 * n], dtype, requiresGrad: true);
        var alpha = FromValues(golden.Alpha, [3], dtype, requiresGrad: true);
        var w = FromValues(golden.W, [c, c], dtype, requiresGrad: true);

        var result = MhcConnection.Run(x, phi, bias, alpha, w, golden.Iters, golden.RmsEps, implementation);
        var gradOutput = FromValues(golden.GradOutput, golden.XShape, dtype);
        (result.Output * gradOutput).sum().backward();

        double tolerance = Tolerance(dtype);
        Close(result.Pre, golden.HPre, tolerance, "h_pre");
        Close(result.Post, golden.HPost, tolerance, "h_post");
        Close(result.HRes, golden.HRes, tolerance, "h_res");
        Close(result.Output, golden.Output, tolerance, "output");
        Close(x.grad!, golden.GradX, tolerance, "grad_x");
        Close(phi.grad!, golden.GradPhi, tolerance, "grad_phi");
        Close(bias.grad!, golden.GradB, tolerance, "grad_b");
        Close(alpha.grad!, golden.GradAlpha, tolerance, "grad_alpha");
        Close(w.grad!, golden.GradW, tolerance, "grad_W");
    }
}
