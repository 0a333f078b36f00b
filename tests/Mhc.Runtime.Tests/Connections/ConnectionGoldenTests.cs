using System.Text.Json.Nodes;
using Mhc.Runtime.Monitoring;
using Mhc.Runtime.Tests.Golden;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Connections;

/// <summary>
/// Whole connections (module, parameters, branch F(h) = tanh(h·W)) against the float64 golden cases:
/// H_pre, H_post, H_res, output and every gradient, for both kinds that have golden data, both implementations and dtypes.
/// </summary>
public class ConnectionGoldenTests
{
    public static TheoryData<string, int, OpsImplementation, ScalarType> Cases()
    {
        var data = new TheoryData<string, int, OpsImplementation, ScalarType>();
        foreach (var file in new[] { "mhc_layer.json", "hc_layer.json" })
            for (int i = 0; i < CaseCount(file); i++)
                foreach (var impl in new[] { OpsImplementation.Fused, OpsImplementation.Reference })
                    foreach (var dtype in new[] { ScalarType.Float32, ScalarType.Float64 })
                        data.Add(file, i, impl, dtype);
        return data;
    }

    private static int CaseCount(string file) => GoldenCases.Nodes(file).Count;

    [Theory]
    [MemberData(nameof(Cases))]
    public void ConnectionMatchesGolden(string file, int index, OpsImplementation implementation, ScalarType dtype)
    {
        var c = GoldenCases.Nodes(file)[index]!;
        bool isMhc = c["kind"]!.GetValue<string>() == "mhc_layer";
        int n = c["n"]!.GetValue<int>();
        long channels = c["channels"]!.GetValue<long>();
        Tensor T(string key, params long[] shape) => tensor(c[key]!.AsArray().Select(v => v!.GetValue<double>()).ToArray()).reshape(shape.Length == 0 ? new long[] { -1 } : shape).to_type(dtype);

        var options = new HyperConnectionOptions
        {
            Streams = n, Kind = isMhc ? ConnectionKind.Mhc : ConnectionKind.Hc, Implementation = implementation,
            SinkhornIterations = isMhc ? c["iters"]!.GetValue<int>() : 20, RmsEpsilon = c["rms_eps"]!.GetValue<double>(),
        };
        using var connection = new HyperConnection("hc", channels, options);
        connection.to(dtype);
        var parameters = connection.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var golden = isMhc
            ? new Dictionary<string, string> { ["phi"] = "phi", ["bias"] = "b", ["alpha"] = "alpha" }
            : new Dictionary<string, string>
            {
                ["theta_pre"] = "theta_pre", ["theta_post"] = "theta_post", ["theta_res"] = "theta_res",
                ["b_pre"] = "b_pre", ["b_post"] = "b_post", ["b_res"] = "b_res", ["alpha"] = "alpha",
            };
        using (no_grad())
            foreach (var (name, key) in golden)
                parameters[name].copy_(T(key).reshape(parameters[name].shape));

        var xShape = c["x_shape"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
        using var x = T("x", xShape).requires_grad_();
        using var w = T("W", channels, channels).requires_grad_();
        using var recorder = new MixingRecorder();
        connection.Recorder = recorder;
        using var output = connection.forward(x, h => h.matmul(w).tanh());
        connection.Recorder = null;

        double tolerance = dtype == ScalarType.Float64 ? 1e-10 : 1e-5;
        TensorAssert.Close(output, T("output", xShape), tolerance, "output");
        output.backward(new[] { T("grad_output", xShape) });
        TensorAssert.Close(x.grad!, T("grad_x", xShape), tolerance, "grad_x");
        TensorAssert.Close(w.grad!, T("grad_W", channels, channels), tolerance, "grad_W");
        foreach (var (name, key) in golden)
            TensorAssert.Close(parameters[name].grad!, T("grad_" + key).reshape(parameters[name].shape), tolerance, "grad_" + key);

        // The coefficients the module computed on the way, which the output alone would not pin down.
        var mixing = recorder.Records.Single();
        TensorAssert.Close(mixing.Pre!, T("h_pre", -1, n), tolerance, "H_pre");
        TensorAssert.Close(mixing.Post!, T("h_post", -1, n), tolerance, "H_post");
        TensorAssert.Close(mixing.Res, T("h_res", -1, n, n), tolerance, "H_res");
    }
}
