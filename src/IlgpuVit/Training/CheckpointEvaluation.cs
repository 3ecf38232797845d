// `ilgpuvit eval --checkpoint` as a library call: a training checkpoint evaluated on a data set's
// test split (Evaluation.Evaluate), with a reduction spec applied at inference and no retraining. The
// spec defaults to the method the checkpoint was trained with, at its final rate. The checkpoint's
// metadata is read before the data set and the device are opened, so a wrong path costs nothing.

using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>What to evaluate.</summary>
/// <param name="Checkpoint">A checkpoint written by training.</param>
/// <param name="Data">The data set whose test split is used (<see cref="DataSets"/>).</param>
/// <param name="DataDir">The data set's folder; null for its default.</param>
/// <param name="Batch">Images per forward.</param>
/// <param name="Limit">Evaluate only the first N test images; null for all.</param>
/// <param name="Method">A reduction spec; null for the checkpoint's own method, "none" if it has none.</param>
/// <param name="Device">A Device.Open spec.</param>
/// <param name="AllowNonFinite">Load weights holding NaN or ±Inf (listed in the result) instead of refusing them.</param>
public sealed record CheckpointEvalSettings(string Checkpoint, string Data = "fashion-mnist", string? DataDir = null, int Batch = 256,
    int? Limit = null, string? Method = null, string Device = "auto", bool AllowNonFinite = false);

/// <summary>The result and what produced it.</summary>
/// <param name="Info">The checkpoint's metadata (model, step, method) and the non-finite tensors it loaded.</param>
/// <param name="Method">The reduction spec applied.</param>
/// <param name="Device">Where it ran (its Device.Open spec).</param>
/// <param name="Result">Accuracy, loss, GMACs and throughput.</param>
public sealed record CheckpointEvalReport(CheckpointInfo Info, string Method, string Device, EvaluationResult Result)
{
    /// <summary>Whether the accuracy or the loss is NaN or infinite (the model's outputs were).</summary>
    public bool NonFinite => !double.IsFinite(Result.Accuracy) || !double.IsFinite(Result.Loss);
}

/// <summary>Evaluates training checkpoints.</summary>
public static class CheckpointEvaluation
{
    /// <summary>Loads the checkpoint, applies the reduction spec and evaluates on the test split.</summary>
    /// <exception cref="FileNotFoundException">The checkpoint or the data set is missing.</exception>
    /// <exception cref="FormatException">The checkpoint or the spec is malformed.</exception>
    /// <exception cref="NonFiniteWeightsException">The weights hold NaN or ±Inf and <see cref="CheckpointEvalSettings.AllowNonFinite"/> is false.</exception>
    public static CheckpointEvalReport Run(CheckpointEvalSettings settings)
    {
        var info = TrainingCheckpoint.ReadInfo(settings.Checkpoint);
        var method = settings.Method ?? info.Method ?? "none";
        ReductionMethod.Parse(method, info.Config.Depth);      // a bad spec fails before the data and the device open
        var (test, normalization) = DataSets.Load(settings.Data, settings.DataDir, train: false);
        if (settings.Limit is int n) test = test.Take(Math.Min(n, test.Count));
        using var device = Device.Open(settings.Device);
        using var model = new VisionTransformer(info.Config, device);
        var loaded = TrainingCheckpoint.Load(settings.Checkpoint, model, allowNonFinite: settings.AllowNonFinite);
        ReductionMethod.Apply(model, method);
        var result = Evaluation.Evaluate(model, test, normalization, settings.Batch);
        return new CheckpointEvalReport(loaded, method, device.Info.Spec, result);
    }
}
