using System.Globalization;
using Gpt.Trainer.Training;
using McMaster.Extensions.CommandLineUtils;
using Spectre.Console;

namespace Gpt.Trainer.Display;

/// <summary>Where runs report their progress: a live bar per run, and lines that scroll above it.</summary>
public interface IProgressReporter
{
    /// <param name="stepsBefore">Steps a resumed run had already taken; its steps are numbered on from there.</param>
    ITrainingObserver BeginRun(string label, int stepsBefore, int steps);

    void WriteLine(string line);
}

/// <summary>
/// Runs training with a live progress bar (loss and tokens/s) when the console is a terminal, and with
/// plain lines, one per evaluation, when output goes to a file or a pipe.
/// </summary>
public static class ProgressConsole
{
    public static T Run<T>(IConsole console, Func<IProgressReporter, T> work)
    {
        // The live display draws on the process's terminal, so it is used only when the command's console is that terminal.
        if (console.IsOutputRedirected || !ReferenceEquals(console, PhysicalConsole.Singleton) || !AnsiConsole.Profile.Capabilities.Interactive)
            return work(new PlainReporter(console.Out));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(context => result = work(new LiveReporter(context)));
        return result;
    }

    /// <summary>One line for an evaluation point: losses, throughput, and the gains with layer 0 called out.</summary>
    public static string Describe(EvaluationPoint p)
    {
        var validation = double.IsNaN(p.ValidationLoss) ? "     -" : p.ValidationLoss.ToString("0.0000", CultureInfo.InvariantCulture);
        var line = string.Create(CultureInfo.InvariantCulture,
            $"step {p.Step,5}  loss {p.TrainLoss:0.0000}  val {validation}  {p.TokensPerSecond,7:0} tok/s");
        if (p.Gains is { Connections.Count: > 0 } gains)
            line += string.Create(CultureInfo.InvariantCulture,
                $"  Amax composite max {gains.MaxCompositeGain:0.000} (layer 0: fwd {gains.Connections[0].CompositeForward.Max:0.000}, bwd {gains.Connections[0].CompositeBackward.Max:0.000})");
        return line;
    }

    private sealed class PlainReporter(TextWriter output) : IProgressReporter
    {
        public ITrainingObserver BeginRun(string label, int stepsBefore, int steps) => new Observer(output, label.Length == 0 ? "" : label + "  ");

        public void WriteLine(string line) => output.WriteLine(line);

        private sealed class Observer(TextWriter output, string prefix) : ITrainingObserver
        {
            public void OnStep(int step, double loss, double tokensPerSecond) { }

            public void OnEvaluation(EvaluationPoint point) => output.WriteLine(prefix + Describe(point));
        }
    }

    private sealed class LiveReporter(ProgressContext context) : IProgressReporter
    {
        public ITrainingObserver BeginRun(string label, int stepsBefore, int steps) =>
            new Observer(context.AddTask(Markup.Escape(label.Length == 0 ? "training" : label), maxValue: steps), stepsBefore, label.Length == 0 ? "" : label + "  ");

        // Spectre draws lines written during a live display above it.
        public void WriteLine(string line) => AnsiConsole.WriteLine(line);

        private sealed class Observer(ProgressTask task, int stepsBefore, string prefix) : ITrainingObserver
        {
            public void OnStep(int step, double loss, double tokensPerSecond)
            {
                task.Value = step - stepsBefore;
                task.Description = Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{prefix}loss {loss:0.000}  {tokensPerSecond:N0} tok/s"));
            }

            public void OnEvaluation(EvaluationPoint point) => AnsiConsole.WriteLine(prefix + Describe(point));
        }
    }
}
