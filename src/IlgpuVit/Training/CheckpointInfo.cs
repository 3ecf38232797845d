// What a training checkpoint's metadata says (TrainingCheckpoint.ReadInfo and Load return it): the
// model's architecture, the training options, the step, and the rest of the run's definition as
// JSON written by TrainingRun, so a run resumes with every setting it had.

using IlgpuVit.IO;
using IlgpuVit.Nn;

namespace IlgpuVit.Training;

/// <summary>What a checkpoint's metadata says.</summary>
/// <param name="Config">The model's architecture.</param>
/// <param name="Options">The training run's settings (null for a weights-only file).</param>
/// <param name="Step">Optimizer steps done.</param>
/// <param name="Method">The reduction the model ran with when saved, with its current rate (e.g. "etps:rate=0.08"); null for none.</param>
/// <param name="AdjusterState">The pruning-rate adjuster's state (JSON), for resuming; null without one.</param>
/// <param name="Run">What else defines the run (JSON: data set, folder, limits; see Training.RunSettings), for resuming; null in
/// weights-only files and in checkpoints written before it was recorded.</param>
public sealed record CheckpointInfo(VitConfig Config, TrainingOptions? Options, int Step, string? Method = null, string? AdjusterState = null,
    string? Run = null)
{
    /// <summary>
    /// Tensors holding NaN or ±Inf that <see cref="TrainingCheckpoint.Load"/> loaded because it was allowed to; empty when every value
    /// is finite (and from <see cref="TrainingCheckpoint.ReadInfo(string)"/>, which reads no values).
    /// </summary>
    public IReadOnlyList<NonFiniteTensor> NonFinite { get; init; } = [];
}
