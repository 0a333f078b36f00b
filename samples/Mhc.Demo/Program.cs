using System.Diagnostics;
using System.Globalization;
using Mhc.Demo;
using Mhc.Runtime;
using Mhc.Runtime.Monitoring;
using TorchSharp;
using static TorchSharp.torch;

// Trains a tiny GPT whose residual sites are hyper-connections on a built-in corpus, printing the loss
// and the Amax gains of every connection. Usage:
//   dotnet run --project samples/Mhc.Demo -- [--steps N] [--connection mhc|hc|residual] [--streams N] [--seed N]
var options = DemoOptions.Parse(args);
if (options is null) return 2;

torch.manual_seed(options.Seed);
torch.set_num_threads(Math.Max(1, Environment.ProcessorCount));
var text = DemoCorpus.Generate(lines: 4000, seed: options.Seed);
var vocabulary = text.Distinct().Order().ToArray();
var ids = text.Select(ch => (long)Array.BinarySearch(vocabulary, ch)).ToArray();
using var data = tensor(ids);

var config = new GptConfig(VocabSize: vocabulary.Length, Width: 64, Heads: 4, Layers: 2, Context: 32);
var hyper = new HyperConnectionOptions { Streams = options.Streams, Kind = options.Kind };
using var model = new TinyGpt(config, hyper);
using var optimizer = optim.AdamW(model.parameters(), lr: 3e-3);
var random = new Random(options.Seed);

(Tensor Input, Tensor Target) Batch(int size)
{
    var starts = Enumerable.Range(0, size).Select(_ => (long)random.Next(ids.Length - (int)config.Context - 1)).ToArray();
    var input = stack(starts.Select(s => data[TensorIndex.Slice(s, s + config.Context)]).ToArray());
    var target = stack(starts.Select(s => data[TensorIndex.Slice(s + 1, s + 1 + config.Context)]).ToArray());
    return (input, target);
}

Console.WriteLine($"Mhc demo: {config.Layers}-layer GPT, width {config.Width}, {hyper.Kind} connections with n = {hyper.Streams} streams, " +
                  $"{model.parameters().Sum(p => p.numel())} parameters, {options.Steps} steps on {text.Length} characters of generated additions.");
using (var probeBatch = Batch(8).Input)
    Console.Write("Amax gains at init:\n" + AmaxProbe.Measure(model, probeBatch).ToTable());

var clock = Stopwatch.StartNew();
long tokens = 0;
for (int step = 1; step <= options.Steps; step++)
{
    using var scope = NewDisposeScope();
    var (input, target) = Batch(16);
    using var logits = model.forward(input);
    using var loss = nn.functional.cross_entropy(logits.view(-1, vocabulary.Length), target.view(-1));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    tokens += input.numel();
    if (step == 1 || step % 10 == 0 || step == options.Steps)
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {step,4}  loss {loss.item<float>():0.0000}  {tokens / clock.Elapsed.TotalSeconds:0} tokens/s"));
}

using (var probeBatch = Batch(8).Input)
{
    var report = AmaxProbe.Measure(model, probeBatch);
    Console.Write($"Amax gains after {options.Steps} steps:\n" + report.ToTable());
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"largest composite gain: {report.MaxCompositeGain:0.0000}"));
}
return 0;

internal sealed record DemoOptions(int Steps, ConnectionKind Kind, int Streams, int Seed)
{
    public static DemoOptions? Parse(string[] args)
    {
        var result = new DemoOptions(Steps: 60, Kind: ConnectionKind.Mhc, Streams: 4, Seed: 1);
        for (int i = 0; i < args.Length; i++)
        {
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (args[i])
            {
                case "--steps" when int.TryParse(Value(), out var steps) && steps > 0:
                    result = result with { Steps = steps };
                    break;
                case "--streams" when int.TryParse(Value(), out var streams) && streams > 0:
                    result = result with { Streams = streams };
                    break;
                case "--seed" when int.TryParse(Value(), out var seed):
                    result = result with { Seed = seed };
                    break;
                case "--connection" when Enum.TryParse<ConnectionKind>(Value(), ignoreCase: true, out var kind):
                    result = result with { Kind = kind };
                    break;
                case "-h" or "--help":
                    Console.WriteLine("usage: Mhc.Demo [--steps N] [--connection mhc|hc|residual] [--streams N] [--seed N]");
                    return null;
                default:
                    Console.Error.WriteLine($"error: unknown or invalid argument '{args[i]}'. Try --help.");
                    return null;
            }
        }
        return result;
    }
}
