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
        var logits = _model.forward(_input);
        var loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), _target.view(-1));
        _optimizer.zero_grad();
        loss.backward();
        _optimizer.step();
        return loss.item<float>();
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _input.Dispose();
        _target.Dispose();
    }
}
