namespace Mhc.Benchmarks.Gpt;

/// <summary>Median training-step times of the plain residual GPT and the mHC GPT, ms.</summary>
internal sealed record StepTimes(double Residual, double Mhc);
