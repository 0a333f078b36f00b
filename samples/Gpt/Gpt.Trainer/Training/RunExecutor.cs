using Gpt.Trainer.Corpus;
using Gpt.Trainer.Reporting;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>Trains one run from its manifest: seeds torch, builds the model, trains it, and returns what it measured.</summary>
public static class RunExecutor
{
    /// <summary>The manifest of a run on this corpus, with the model's parameter count filled in.</summary>
    public static RunManifest Manifest(string label, Connection connection, int streams, ModelShape shape, int steps, int batch,
        double learningRate, int seed, int evalInterval, int probeInterval, TextCorpus corpus)
    {
        using var rng = get_rng_state();
        try
        {
            using var model = ModelFactory.Create(connection, shape);
            return new RunManifest(label, connection, connection == Connection.Residual ? 1 : streams, shape, steps, batch, learningRate, seed,
                evalInterval, probeInterval, corpus.Description, model.parameters().Sum(p => p.numel()));
        }
        finally
        {
            set_rng_state(rng);
        }
    }

    public static RunRecord Train(RunManifest manifest, TextCorpus corpus, ITrainingObserver observer)
    {
        manual_seed(manifest.Seed);
        using var model = ModelFactory.Create(manifest.Connection, manifest.Shape);
        using var run = new TrainingRun(model, corpus, manifest.Shape.Context,
            new TrainingSettings(manifest.Steps, manifest.Batch, manifest.LearningRate, manifest.EvalInterval, manifest.ProbeInterval, (ulong)manifest.Seed), observer);
        run.Run();
        return new RunRecord(manifest, run.History, run.TrainingSeconds);
    }
}
