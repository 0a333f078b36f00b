using System.Globalization;
using System.Runtime.InteropServices;

namespace Mhc.Benchmarks.Memory;

/// <summary>
/// The resident memory of this process, from /proc/self/status, with a resettable high-water mark.
/// <see cref="ReturnFreedBlocks"/> must run first, before any tensor exists: it makes RSS follow the bytes
/// of live tensors instead of what the C allocator happens to keep.
/// </summary>
internal static class ProcessMemory
{
    private const int M_MMAP_THRESHOLD = -3;
    private const int M_TRIM_THRESHOLD = -1;
    private const int BlockThreshold = 64 * 1024;

    /// <summary>
    /// Gives every block of 64 KiB or more its own mapping, unmapped when freed. glibc's default raises
    /// that threshold (up to 32 MiB) after the first frees and keeps freed heap memory, and
    /// CpuAllocator.ReuseFreedMemory never returns any: in both cases RSS would be the allocator's
    /// history, not the tensors alive at the peak. A fixed threshold also ends the dynamic adjustment.
    /// </summary>
    public static bool ReturnFreedBlocks() =>
        OperatingSystem.IsLinux() && mallopt(M_MMAP_THRESHOLD, BlockThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, BlockThreshold) == 1;

    public static long ResidentBytes() => StatusKilobytes("VmRSS:") * 1024;

    public static long PeakResidentBytes() => StatusKilobytes("VmHWM:") * 1024;

    /// <summary>Sets the high-water mark to the current RSS (Linux: "5" to clear_refs).</summary>
    public static void ResetPeak() => File.WriteAllText("/proc/self/clear_refs", "5");

    /// <summary>Minor page faults this process has taken so far (/proc/self/stat, field 10).</summary>
    public static long MinorFaults()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        // The fields after the command name, which is in parentheses and may hold spaces; minflt is the 8th of them.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], CultureInfo.InvariantCulture);
    }

    private static long StatusKilobytes(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        throw new InvalidOperationException($"/proc/self/status has no {field} line.");
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int mallopt(int parameter, int value);
}
