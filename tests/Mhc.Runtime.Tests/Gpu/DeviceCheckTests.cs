using Mhc.DeviceCheck;

namespace Mhc.Runtime.Tests.Gpu;

/// <summary>
/// The device check (tools/Mhc.DeviceCheck, run on a GPU by build/device-check.sh) at tiny sizes on ILGPU's
/// CPU accelerator: every step it takes on a GPU runs here too, so it still builds and works when a GPU is reached.
/// </summary>
public class DeviceCheckTests
{
    [Fact]
    public void TheDeviceCheckRunsEveryKernelAndEveryMeasurementOnTheCpuAccelerator()
    {
        using var output = new StringWriter();
        int exit = Mhc.DeviceCheck.DeviceCheck.Run(CheckOptions.Cpu, output);
        string text = output.ToString();

        Assert.True(exit == CheckOptions.SuccessExit, text);
        foreach (var op in new[] { "coefficients", "sinkhorn", "pre-mix", "merge" })
            Assert.Contains($"ok   {op} forward + backward", text);
        Assert.Contains("copy (device to device)", text);
        foreach (var op in new[] { "coefficients", "sinkhorn", "pre-mix", "merge" })
        foreach (var direction in new[] { "forward", "backward" })
            Assert.Matches($@"  {op} {direction} +[0-9.]+ ms", text);
        Assert.Matches(@"  one connection, all ops +[0-9.]+ ms", text);
        Assert.Contains("all kernel checks passed", text);
    }
}
