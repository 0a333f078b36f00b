using Gpt.Trainer.Corpus;
using Gpt.Trainer.Reporting;
using Gpt.Trainer.Training;
using Mhc.Runtime.Retrofit;
using Mhc.Runtime.Tests.Support;

namespace Mhc.Runtime.Tests.Samples;

/// <summary>The GPT sample: the tool-converted model against the plain one it was converted from.</summary>
public sealed class SampleGptTests : IDisposable
{
    private static readonly ModelShape Shape = new(Vocabulary: 23, Context: 16, Layers: 2, Width: 32, Heads: 4);
    private readonly string _dir = Directory.CreateTempSubdirectory("mhc-sample-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static nn.Module<Tensor, Tensor> Build(Connection connection, int seed = 5)
    {
        manual_seed(seed);
        return ModelFactory.Create(connection, Shape);
    }

    private static Tensor Tokens() => randint(0, Shape.Vocabulary, new long[] { 2, Shape.Context }, generator: new Generator(9));

    [Theory]
    [InlineData(Connection.Mhc, ConnectionKind.Mhc)]
    [InlineData(Connection.Hc, ConnectionKind.Hc)]
    public void ConvertedSampleComputesThePlainSamplesFunctionAtInit(Connection connection, ConnectionKind expectedKind)
    {
        using var plain = Build(Connection.Residual);
        using var converted = Build(connection);
        var connections = HyperConnections.Find(converted);
        Assert.Equal(2 * Shape.Layers, connections.Count);
        Assert.All(connections, c => Assert.Equal(expectedKind, c.Kind));
        Assert.Equal(Enumerable.Range(0, 2 * Shape.Layers), connections.Select(c => c.LayerIndex));

        using var tokens = Tokens();
        using var expected = plain.forward(tokens);
        using var actual = converted.forward(tokens);
        Assert.True(TensorAssert.MaxAbsDifference(actual, expected) <= 1e-6,
            $"max |difference| {TensorAssert.MaxAbsDifference(actual, expected):E2}");
    }

    [Fact]
    public void PlainCheckpointRetrofitsIntoTheConvertedSample()
    {
        using var plain = Build(Connection.Residual, seed: 1);
        using (no_grad())
            foreach (var p in plain.parameters()) p.add_(randn_like(p) * 0.1);
        var path = Path.Combine(_dir, "plain.bin");
        plain.save(path);
        using var converted = Build(Connection.Mhc, seed: 2);

        var report = Retrofitter.LoadCheckpoint(converted, path);

        Assert.True(report.IsComplete, report.ToString());
        using var tokens = Tokens();
        using var expected = plain.forward(tokens);
        using var actual = converted.forward(tokens);
        Assert.True(TensorAssert.MaxAbsDifference(actual, expected) <= 1e-5);
    }

    [Fact]
    public void CheckpointRoundTripRebuildsTheSameModel()
    {
        using var model = Build(Connection.Hc);
        new Checkpoint(Connection.Hc, Shape, new string(Enumerable.Range(0, 23).Select(i => (char)('a' + i)).ToArray()), Steps: 3).Save(_dir, model);

        var (checkpoint, loaded) = Checkpoint.Load(_dir);
        using var _ = loaded;

        Assert.Equal(Connection.Hc, checkpoint.Connection);
        Assert.Equal(Shape, checkpoint.Shape);
        using var tokens = Tokens();
        using var expected = model.forward(tokens);
        using var actual = loaded.forward(tokens);
        Assert.True(actual.allclose(expected, rtol: 0, atol: 0));
    }

    [Fact]
    public void GenerationIsReproducibleFromItsSeed()
    {
        using var model = Build(Connection.Mhc);
        var tokenizer = new CharTokenizer(Enumerable.Range(0, 23).Select(i => (char)('a' + i)));
        var first = Sampler.Generate(model, tokenizer, "abc", 20, Shape.Context, 0.8, seed: 4);
        var second = Sampler.Generate(model, tokenizer, "abc", 20, Shape.Context, 0.8, seed: 4);
        Assert.Equal(23, first.Length);
        Assert.StartsWith("abc", first);
        Assert.Equal(first, second);
    }

    [Fact]
    public void OptionsOverrideAppliesOnlyInsideItsScopeAndNests()
    {
        using (HyperConnections.OverrideOptions(o => o with { Kind = ConnectionKind.Hc }))
        {
            using (HyperConnections.OverrideOptions(o => o with { SinkhornIterations = 7 }))
            {
                using var inner = new HyperConnection("a", 8, new HyperConnectionOptions());
                Assert.Equal(ConnectionKind.Hc, inner.Kind);
                Assert.Equal(7, inner.Options.SinkhornIterations);
            }
            using var outer = new HyperConnection("b", 8, new HyperConnectionOptions());
            Assert.Equal(20, outer.Options.SinkhornIterations);
        }
        using var after = new HyperConnection("c", 8, new HyperConnectionOptions());
        Assert.Equal(ConnectionKind.Mhc, after.Kind);
    }

    [Fact]
    public void BuiltInCorpusIsDeterministicAndSplitsNinetyTen()
    {
        Assert.Equal(GeneratedText.Generate(5000, seed: 3), GeneratedText.Generate(5000, seed: 3));
        using var corpus = TextCorpus.Load(path: null, minimumLength: 64);
        Assert.Equal(200_000, corpus.Train.numel() + corpus.Validation.numel());
        Assert.Equal(180_000, corpus.Train.numel());
        var e = Assert.Throws<FileNotFoundException>(() => TextCorpus.Load(Path.Combine(_dir, "missing.txt"), 64));
        Assert.Contains("--data", e.Message);
    }

    [Fact]
    public void ShortTrainingRunLowersTheLossAndLogsEveryEvaluation()
    {
        manual_seed(2);
        using var corpus = TextCorpus.Load(path: null, minimumLength: (int)Shape.Context);
        using var model = ModelFactory.Create(Connection.Mhc, Shape with { Vocabulary = corpus.Tokenizer.VocabularySize });
        var observer = new RecordingObserver();
        using var run = new TrainingRun(model, corpus, Shape.Context, new TrainingSettings(Steps: 30, Batch: 8, LearningRate: 3e-3, EvalInterval: 10, ProbeInterval: 10, Seed: 2), observer);

        run.Run();

        Assert.Equal(Enumerable.Range(1, 30), observer.Steps);
        Assert.Equal(new[] { 10, 20, 30 }, run.History.Select(p => p.Step));
        Assert.Equal(run.History, observer.Evaluations);
        Assert.True(run.History[^1].ValidationLoss < run.History[0].ValidationLoss);
        Assert.True(run.TrainingSeconds > 0);
        Assert.All(run.History, p => Assert.InRange(p.Gains!.Connections[0].Forward.Max, 1 - 1e-6, 1 + 1e-6));
        var csv = RunLog.LogCsv(run.History).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(RunLog.LogHeader, csv[0]);
        Assert.Equal(4, csv.Length);
        Assert.StartsWith("30,", csv[3]);
        Assert.Equal(7, csv[3].Split(',').Length);
    }

    private sealed class RecordingObserver : ITrainingObserver
    {
        public List<int> Steps { get; } = new();
        public List<EvaluationPoint> Evaluations { get; } = new();

        public void OnStep(int step, double loss, double tokensPerSecond)
        {
            Assert.True(double.IsFinite(loss) && tokensPerSecond > 0);
            Steps.Add(step);
        }

        public void OnEvaluation(EvaluationPoint point) => Evaluations.Add(point);
    }
}
