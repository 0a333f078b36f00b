namespace Mhc.DeviceCheck;

/// <summary>
/// <c>Mhc.DeviceCheck [--accelerator cuda|cpu]</c> (build/device-check.sh): cuda, the default, is the GPU
/// check; cpu runs the same steps at tiny sizes on ILGPU's CPU accelerator.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var accelerator = args.Length == 0 ? "cuda" : args is ["--accelerator", var name] ? name : null;
        var options = accelerator switch
        {
            "cuda" => CheckOptions.Gpu,
            "cpu" => CheckOptions.Cpu,
            _ => null,
        };
        if (options is null)
        {
            Console.Error.WriteLine("usage: Mhc.DeviceCheck [--accelerator cuda|cpu]  (cuda: the GPU check; cpu: tiny sizes on ILGPU's CPU accelerator)");
            return CheckOptions.UsageExit;
        }
        return DeviceCheck.Run(options, Console.Out);
    }
}
