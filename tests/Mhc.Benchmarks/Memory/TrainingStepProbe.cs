using Mhc.Benchmarks.Gpt;
using TorchSharp;
using static TorchSharp.torch;

namespace Mhc.Benchmarks.Memory;

/// <summary>
/// Resident bytes of one training step above what the process holds between steps, per phase. Each
/// phase's figure is its own peak: the high-water mark is reset as the phase starts.
/// </summary>
internal sealed record StepMemory(long Model, long BetweenSteps, long Forward, long AfterForward, long Backward, long OptimizerStep)
{
    public long Peak => Math.Max(Forward, Math.Max(Backward, OptimizerStep));

    public string Serialize() => string.Join(' ', Model, BetweenSteps, Forward, AfterForward, Backward, OptimizerStep);

    public static StepMemory Parse(string line)
    {
        var v = line.Split(' ').Select(long.Parse).ToArray();
        return new StepMemory(v[0], v[1], v[2], v[3], v[4], v[5]);
    }
}

/// <summary>
/// Trains one GPT variant in this process (forward, cross-entropy, backward, AdamW step) and measures
/// the last step. Two warm-up steps first, so AdamW's moments and the gradients already exist and the
/// measured step allocates only what every step allocates.
/// </summary>
internal static class TrainingStepProbe
{
    private const int WarmupSteps = 2;

    public static StepMemory Measure(GptVariant variant, GptShape shape)
    {
        long start = ProcessMemory.ResidentBytes();
        using var model = variant.Create(shape, seed: 0);
        long modelBytes = ProcessMemory.ResidentBytes() - start;
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3, weight_decay: 0.01);
        using var input = randint(GptShape.Vocabulary, [shape.Batch, shape.Context]);
        using var target = randint(GptShape.Vocabulary, [shape.Batch, shape.Context]);
        model.train();
        for (int i = 0; i < WarmupSteps; i++)
            Step(model, optimizer, input, target);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var scope = NewDisposeScope();
        long between = ProcessMemory.ResidentBytes();
        long Phase(Action run)
        {
            ProcessMemory.ResetPeak();
            run();
            return ProcessMemory.PeakResidentBytes() - between;
        }

        Tensor loss = null!;
        long forward = Phase(() => loss = Loss(model, input, target));
        long afterForward = ProcessMemory.ResidentBytes() - between;
        long backward = Phase(() => { optimizer.zero_grad(); loss.backward(); });
        long step = Phase(() => optimizer.step());
        return new StepMemory(modelBytes, between - start, forward, afterForward, backward, step);
    }

    private static void Step(nn.Module<Tensor, Tensor> model, optim.Optimizer optimizer, Tensor input, Tensor target)
    {
        using var scope = NewDisposeScope();
        var loss = Loss(model, input, target);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
    }

    private static Tensor Loss(nn.Module<Tensor, Tensor> model, Tensor input, Tensor target)
    {
        var logits = model.forward(input);
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), target.view(-1));
    }
}
