using System.Diagnostics;
using System.Globalization;
using Gpt.Trainer.Corpus;
using Mhc.Runtime;
using Mhc.Runtime.Monitoring;
using static TorchSharp.torch;

namespace Gpt.Trainer.Training;

/// <summary>Settings of one training run.</summary>
public sealed record TrainingSettings(int Steps, int Batch, double LearningRate, int EvalInterval, int ProbeInterval, ulong Seed);

/// <summary>What a run measured at one evaluation point.</summary>
public sealed record EvaluationPoint(int Step, double TrainLoss, double ValidationLoss, double TokensPerSecond, AmaxReport? Gains);

/// <summary>
/// The training loop: AdamW on random windows of the corpus, a held-out loss and an Amax probe every
/// few steps, one line of progress per evaluation.
/// </summary>
public sealed class TrainingRun(nn.Module<Tensor, Tensor> model, TextCorpus corpus, long context, TrainingSettings settings, TextWriter log)
{
    private readonly Generator _batches = new(settings.Seed);

    public List<EvaluationPoint> History { get; } = new();

    public void Run()
    {
        using var optimizer = optim.AdamW(model.parameters(), lr: settings.LearningRate, weight_decay: 0.01);
        bool hyperConnected = HyperConnections.Find(model).Count > 0;
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        double recentLoss = double.NaN;
        model.train();
        for (int step = 1; step <= settings.Steps; step++)
        {
            using (var scope = NewDisposeScope())
            {
                var (input, target) = corpus.Batch(corpus.Train, settings.Batch, context, _batches);
                var logits = model.forward(input);
                var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1));
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                recentLoss = loss.item<float>();
                tokens += input.numel();
            }

            bool evaluate = step % settings.EvalInterval == 0 || step == settings.Steps;
            bool probe = hyperConnected && (step % settings.ProbeInterval == 0 || step == settings.Steps);
            if (evaluate || probe)
            {
                var point = new EvaluationPoint(step, recentLoss, evaluate ? ValidationLoss() : double.NaN,
                    tokens / clock.Elapsed.TotalSeconds, probe ? Probe() : null);
                History.Add(point);
                log.WriteLine(Describe(point));
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

    private static string Describe(EvaluationPoint p)
    {
        var validation = double.IsNaN(p.ValidationLoss) ? "     -" : p.ValidationLoss.ToString("0.0000", CultureInfo.InvariantCulture);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"step {p.Step,5}  loss {p.TrainLoss:0.0000}  val {validation}  {p.TokensPerSecond,7:0} tok/s");
        if (p.Gains is { Connections.Count: > 0 } gains)
            line += string.Create(CultureInfo.InvariantCulture,
                $"  Amax composite max {gains.MaxCompositeGain:0.000} (layer 0: fwd {gains.Connections[0].CompositeForward.Max:0.000}, bwd {gains.Connections[0].CompositeBackward.Max:0.000})");
        return line;
    }
}
