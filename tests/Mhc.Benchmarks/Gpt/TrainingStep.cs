using System.Diagnostics;
using Mhc.Benchmarks.Memory;
using Mhc.Runtime.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Gpt;

/// <summary>
/// One training step of a GPT as the trainer takes it: forward, cross-entropy, backward, AdamW step,
/// all in one dispose scope. Every step sees the same batch, so variants do identical work.
/// </summary>
internal sealed class TrainingStep : IDisposable
{
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly optim.Optimizer _optimizer;
    private readonly Tensor _input, _target;

    public TrainingStep(nn.Module<Tensor, Tensor> model, GptShape shape, long seed)
    {
        _model = model;
        _model.train();
        _optimizer = optim.AdamW(model.parameters(), lr: 1e-3, weight_decay: 0.01);
        using var generator = new Generator((ulong)seed);
        _input = randint(GptShape.Vocabulary, [shape.Batch, shape.Context], generator: generator);
        _target = randint(GptShape.Vocabulary, [shape.Batch, shape.Context], generator: generator);
    }

    /// <summary>Takes one step and returns its loss.</summary>
    public float Run()
    {
        using var scope = NewDisposeScope();
        var loss = Loss();
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
        return loss.item<float>();
    }

    /// <summary>
    /// Takes one step with <see cref="ConnectionTimings"/> on, and returns each phase's wall time with the connection
    /// regions timed inside it, and the page faults the step took.
    /// </summary>
    public ProfiledStep RunProfiled()
    {
        long faults = ProcessMemory.MinorFaults();
        ConnectionTimings.Reset();
        ConnectionTimings.Enabled = true;
        try
        {
            var clock = Stopwatch.StartNew();
            PhaseTimes forward, zeroing, backward, optimizer;
            using (var scope = NewDisposeScope())
            {
                var loss = Loss();
                forward = PhaseTimes.Take(clock);
                _optimizer.zero_grad();
                zeroing = PhaseTimes.Take(clock);
                loss.backward();
                backward = PhaseTimes.Take(clock);
                _optimizer.step();
                loss.item<float>();
                optimizer = PhaseTimes.Take(clock).Plus(zeroing);
            }
            var freeing = PhaseTimes.Take(clock);
            return new ProfiledStep(forward, backward, optimizer, freeing, ProcessMemory.MinorFaults() - faults);
        }
        finally
        {
            ConnectionTimings.Enabled = false;
        }
    }

    /// <summary>The forward and the cross-entropy of the step's batch.</summary>
    private Tensor Loss()
    {
        var logits = _model.forward(_input);
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), _target.view(-1));
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _input.Dispose();
        _target.Dispose();
    }
}
