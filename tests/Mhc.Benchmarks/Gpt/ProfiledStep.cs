using System.Diagnostics;
using Mhc.Runtime.Diagnostics;

namespace Mhc.Benchmarks.Gpt;

/// <summary>One phase of a profiled training step: its wall time and the connection regions timed inside it.</summary>
internal sealed record PhaseTimes(double Milliseconds, IReadOnlyDictionary<TimedPart, double> Parts)
{
    /// <summary>The phase that ends now on <paramref name="clock"/> (restarted for the next one), with the regions timed since the last take.</summary>
    public static PhaseTimes Take(Stopwatch clock)
    {
        var phase = new PhaseTimes(clock.Elapsed.TotalMilliseconds, ConnectionTimings.Snapshot().ToDictionary(p => p.Key, p => p.Value.Milliseconds));
        ConnectionTimings.Reset();
        clock.Restart();
        return phase;
    }

    public double this[TimedPart part] => Parts[part];

    public PhaseTimes Plus(PhaseTimes other) =>
        new(Milliseconds + other.Milliseconds, Parts.ToDictionary(p => p.Key, p => p.Value + other[p.Key]));

    /// <summary>The mean of several steps' same phase.</summary>
    public static PhaseTimes Mean(IReadOnlyList<PhaseTimes> phases) =>
        new(phases.Average(p => p.Milliseconds), phases[0].Parts.Keys.ToDictionary(k => k, k => phases.Average(p => p[k])));
}

/// <summary>A training step taken with the connections' regions timed: forward (with the loss), backward, optimizer (zero_grad and step), freeing its tensors.</summary>
internal sealed record ProfiledStep(PhaseTimes Forward, PhaseTimes Backward, PhaseTimes Optimizer, PhaseTimes Freeing, long MinorFaults)
{
    public double Milliseconds => Forward.Milliseconds + Backward.Milliseconds + Optimizer.Milliseconds + Freeing.Milliseconds;

    public static ProfiledStep Mean(IReadOnlyList<ProfiledStep> steps) => new(
        PhaseTimes.Mean(steps.Select(s => s.Forward).ToList()), PhaseTimes.Mean(steps.Select(s => s.Backward).ToList()),
        PhaseTimes.Mean(steps.Select(s => s.Optimizer).ToList()), PhaseTimes.Mean(steps.Select(s => s.Freeing).ToList()),
        (long)steps.Average(s => s.MinorFaults));
}
