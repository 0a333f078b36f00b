using Gpt.Trainer.Training;

namespace Gpt.Trainer.Experiment;

/// <summary>One run of an experiment: which connection, which seed, which learning rate.</summary>
public sealed record PlannedRun(string Label, Connection Connection, int Seed, double LearningRate);

/// <summary>
/// The runs of the comparison: every connection at every seed at the base learning rate, plus one stress
/// run per connection (seed 1) at a multiple of it. Ordered so that a stopped experiment has already
/// finished the most telling runs: seed 1, then the stress runs, then the other seeds.
/// </summary>
public static class ExperimentPlan
{
    public static IReadOnlyList<PlannedRun> Create(IReadOnlyList<Connection> connections, int seeds, double learningRate, double stressFactor)
    {
        if (connections.Count == 0) throw new ArgumentException("--connections: name at least one of residual, hc, mhc.");
        if (seeds < 1) throw new ArgumentException($"--seeds {seeds}: at least one seed is needed.");
        if (stressFactor < 0) throw new ArgumentException($"--stress {stressFactor}: the factor must be positive, or 0 for no stress runs.");
        var runs = new List<PlannedRun>();
        runs.AddRange(connections.Select(c => new PlannedRun($"{Name(c)}-seed1", c, 1, learningRate)));
        if (stressFactor > 0 && stressFactor != 1)
            runs.AddRange(connections.Select(c => new PlannedRun($"{Name(c)}-stress", c, 1, learningRate * stressFactor)));
        for (int seed = 2; seed <= seeds; seed++)
            runs.AddRange(connections.Select(c => new PlannedRun($"{Name(c)}-seed{seed}", c, seed, learningRate)));
        return runs;
    }

    public static IReadOnlyList<Connection> ParseConnections(string list) =>
        list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(name => Enum.GetValues<Connection>().Cast<Connection?>().FirstOrDefault(c => c.ToString()!.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"--connections: '{name}' is not a connection; use residual, hc or mhc, separated by commas."))
            .Distinct()
            .ToList();

    private static string Name(Connection connection) => connection.ToString().ToLowerInvariant();
}
