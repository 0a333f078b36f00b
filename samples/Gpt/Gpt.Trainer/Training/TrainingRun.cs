using System.Diagnostics;
using Gpt.Trainer.Corpus;
using Mhc.Runtime;
using Mhc.Runtime.Monitoring;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>Settings of one training run.</summary>
public sealed record TrainingSettings(int Steps, int Batch, double LearningRate, int EvalInterval, int ProbeInterval, ulong Seed);

/// <summary>What a run measured at one evaluation point; NaN where no evaluation ran, null where no probe ran.</summary>
public sealed record EvaluationPoint(int Step, double TrainLoss, double ValidationLoss, double TokensPerSecond, AmaxReport? Gains);

/// <summary>
/// The training loop: AdamW on random windows of the corpus, a held-out loss and an Amax probe every
/// few steps (probes only where the model has hyper-connections). Its optimizer moments, batch
/// generator and step count can be saved beside a checkpoint and restored, so a resumed run takes the
/// same steps the uninterrupted run would have taken.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    private const string OptimizerFile = "optimizer.bin", BatchesFile = "batches.bin", StepsFile = "state-steps.txt";

    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly TextCorpus _corpus;
    private readonly long _context;
    private readonly TrainingSettings _settings;
    private readonly ITrainingObserver _observer;
    private readonly TorchSharp.Modules.AdamW _optimizer;
    private readonly Generator _batches;

    public TrainingRun(nn.Module<Tensor, Tensor> model, TextCorpus corpus, long context, TrainingSettings settings, ITrainingObserver observer)
    {
        _model = model;
        _corpus = corpus;
        _context = context;
        _settings = settings;
        _observer = observer;
        _optimizer = optim.AdamW(model.parameters(), lr: settings.LearningRate, weight_decay: 0.01);
        _batches = new Generator(settings.Seed);
    }

    public List<EvaluationPoint> History { get; } = new();

    /// <summary>Steps taken before this run (by the run it was restored from) plus the steps it has taken.</summary>
    public int StepsDone { get; private set; }

    /// <summary>Seconds spent in training steps, evaluations and probes excluded.</summary>
    public double TrainingSeconds { get; private set; }

    /// <summary>
    /// True when <paramref name="directory"/> holds the optimizer and batch state <see cref="Save"/> wrote
    /// after <paramref name="steps"/> steps: a save cut off before the checkpoint itself was written leaves
    /// state of another step count, which is not used.
    /// </summary>
    public static bool HasState(string directory, int steps)
    {
        var recorded = Path.Combine(directory, StepsFile);
        return File.Exists(Path.Combine(directory, OptimizerFile)) && File.Exists(Path.Combine(directory, BatchesFile)) && File.Exists(recorded)
            && int.TryParse(File.ReadAllText(recorded).Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var saved)
            && saved == steps;
    }

    /// <summary>
    /// Continues a run that took <paramref name="stepsDone"/> steps: its steps are numbered on from there, and
    /// the optimizer and batch state <see cref="Save"/> wrote to <paramref name="stateDirectory"/>, if given, are
    /// loaded. The learning rate stays this run's.
    /// </summary>
    public void Resume(int stepsDone, string? stateDirectory)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(stepsDone);
        if (History.Count > 0 || StepsDone > 0)
            throw new InvalidOperationException("A run can only be resumed before it has trained.");
        if (stateDirectory is not null)
        {
            _optimizer.load_state_dict(Path.Combine(stateDirectory, OptimizerFile));
            foreach (var group in _optimizer.ParamGroups)
                group.LearningRate = _settings.LearningRate;
            using var state = tensor(File.ReadAllBytes(Path.Combine(stateDirectory, BatchesFile)));
            _batches.set_state(state);
        }
        StepsDone = stepsDone;
    }

    /// <summary>
    /// Writes the optimizer moments, the batch generator's state and the step count they belong to (last),
    /// each staged beside its final name.
    /// </summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        StagedFile.Write(Path.Combine(directory, OptimizerFile), _optimizer.save_state_dict);
        using (var state = _batches.get_state())
            StagedFile.Write(Path.Combine(directory, BatchesFile), path => File.WriteAllBytes(path, state.data<byte>().ToArray()));
        StagedFile.Write(Path.Combine(directory, StepsFile),
            path => File.WriteAllText(path, StepsDone.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Trains <see cref="TrainingSettings.Steps"/> steps, numbered on from <see cref="StepsDone"/>.</summary>
    public void Run()
    {
        bool hyperConnected = HyperConnections.Find(_model).Count > 0;
        var clock = new Stopwatch();
        long tokens = 0;
        int last = StepsDone + _settings.Steps;
        _model.train();
        while (StepsDone < last)
        {
            int step = StepsDone + 1;
            double loss;
            clock.Start();
            using (var scope = NewDisposeScope())
            {
                var (input, target) = _corpus.Batch(_corpus.Train, _settings.Batch, _context, _batches);
                var logits = _model.forward(input);
                var lossTensor = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1));
                _optimizer.zero_grad();
                lossTensor.backward();
                _optimizer.step();
                loss = lossTensor.item<float>();
                tokens += input.numel();
            }
            clock.Stop();
            StepsDone = step;
            TrainingSeconds = clock.Elapsed.TotalSeconds;
            double tokensPerSecond = tokens / TrainingSeconds;
            _observer.OnStep(step, loss, tokensPerSecond);

            bool evaluate = step % _settings.EvalInterval == 0 || step == last;
            bool probe = hyperConnected && (step % _settings.ProbeInterval == 0 || step == last);
            if (evaluate || probe)
            {
                var point = new EvaluationPoint(step, loss, evaluate ? ValidationLoss() : double.NaN,
                    tokensPerSecond, probe ? Probe() : null);
                History.Add(point);
                _observer.OnEvaluation(point);
            }
        }
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _batches.Dispose();
    }

    private double ValidationLoss(int batches = 4)
    {
        using var noGrad = no_grad();
        using var generator = new Generator(12345); // the same held-out windows at every evaluation
        _model.eval();
        double total = 0;
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var (input, target) = _corpus.Batch(_corpus.Validation, _settings.Batch, _context, generator);
            var logits = _model.forward(input);
            total += nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1)).item<float>();
        }
        _model.train();
        return total / batches;
    }

    private AmaxReport Probe()
    {
        using var generator = new Generator(54321);
        var (input, target) = _corpus.Batch(_corpus.Validation, Math.Min(4, _settings.Batch), _context, generator);
        using (input)
        using (target)
            return AmaxProbe.Measure(_model, input);
    }
}
