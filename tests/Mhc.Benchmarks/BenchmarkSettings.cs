namespace Mhc.Benchmarks;

/// <summary>How long a suite measures (warm-up runs, interleaved rounds) and whether freed memory is reused.</summary>
internal sealed record BenchmarkSettings(bool Quick, int Warmup, int Rounds, bool ReusesFreedMemory);
