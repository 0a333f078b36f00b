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
/// few steps (probes only where the model has hyper-connections).
/// </summary>
public sealed class TrainingRun(nn.Module<Tensor, Tensor> model, TextCorpus corpus, long context, TrainingSettings settings, ITrainingObserver observer)
{
    private readonly Generator _batches = new(settings.Seed);

    public List<EvaluationPoint> History { get; } = new();

    /// <summary>Seconds spent in training steps, evaluations and probes excluded.</summary>
    public double TrainingSeconds { get; private set; }

    public void Run()
    {
        using var optimizer = optim.AdamW(model.parameters(), lr: settings.LearningRate, weight_decay: 0.01);
        bool hyperConnected = HyperConnections.Find(model).Count > 0;
        var clock = new Stopwatch();
        long tokens = 0;
        model.train();
        for (int step = 1; step <= settings.Steps; step++)
        {
            double loss;
            clock.Start();
            using (var scope = NewDisposeScope())
            {
                var (input, target) = corpus.Batch(corpus.Train, settings.Batch, context, _batches);
                var logits = model.forward(input);
                var lossTensor = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1));
                optimizer.zero_grad();
                lossTensor.backward();
                optimizer.step();
                loss = lossTensor.item<float>();
                tokens += input.numel();
            }
            clock.Stop();
            TrainingSeconds = clock.Elapsed.TotalSeconds;
            double tokensPerSecond = tokens / TrainingSeconds;
            observer.OnStep(step, loss, tokensPerSecond);

            bool evaluate = step % settings.EvalInterval == 0 || step == settings.Steps;
            bool probe = hyperConnected && (step % settings.ProbeInterval == 0 || step == settings.Steps);
            if (evaluate || probe)
            {
                var point = new EvaluationPoint(step, loss, evaluate ? ValidationLoss() : double.NaN,
                    tokensPerSecond, probe ? Probe() : null);
                History.Add(point);
                observer.OnEvaluation(point);
            }
        }
    }

    private double ValidationLoss(int batches = 4)
    {
        using var noGrad = no_grad();
        using var generator = new Generator(12345); // the same held-out windows at every evaluation
        model.eval();
        double total = 0;
        for (int i = 0; i < batches; i++)
        {
            using var scope = NewDisposeScope();
            var (input, target) = corpus.Batch(corpus.Validation, settings.Batch, context, generator);
            var logits = model.forward(input);
            total += nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1)).item<float>();
        }
        model.train();
        return total / batches;
    }

    private AmaxReport Probe()
    {
        using var generator = new Generator(54321);
        var (input, target) = corpus.Batch(corpus.Validation, Math.Min(4, settings.Batch), context, generator);
        using (input)
        using (target)
            return AmaxProbe.Measure(model, input);
    }
}
