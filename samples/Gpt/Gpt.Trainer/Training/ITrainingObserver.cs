namespace Gpt.Trainer.Training;

/// <summary>Receives a run's progress: every step, and every evaluation or probe.</summary>
public interface ITrainingObserver
{
    /// <param name="tokensPerSecond">Training throughput so far, evaluations and probes excluded.</param>
    void OnStep(int step, double loss, double tokensPerSecond);

    void OnEvaluation(EvaluationPoint point);
}
