// The measurements an experiment takes of a trained checkpoint: test accuracy under a reduction
// spec applied at inference (Evaluation.Evaluate, no retraining) and latency on one fixed batch of
// test images (the first `latency.batch` of the test split, normalised as in training). Latency is
// always measured with the unpruned spec "none" in the same Metrics.Latency.Compare call, their
// timed runs interleaved, so each change is taken against a baseline under the same load. The
// device and the test split are opened on first use only: an experiment whose measurements are all
// on disk rebuilds its reports without touching either.

using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>Latency of one spec against the unpruned model, measured in one interleaved comparison.</summary>
/// <param name="Spec">The spec timed.</param>
/// <param name="Device">Where it ran.</param>
/// <param name="Batch">Images per forward.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="MedianMs">Median milliseconds per forward.</param>
/// <param name="P10Ms">10th percentile.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="BaselineMs">Median of the unpruned model in the same comparison.</param>
public sealed record ExperimentTiming(string Spec, string Device, int Batch, int Runs, double MedianMs, double P10Ms, double P90Ms, double BaselineMs)
{
    /// <summary>Latency change against the unpruned model, in percent.</summary>
    public double ChangePercent => 100 * (MedianMs / BaselineMs - 1);
}

/// <summary>Accuracy, FLOPs and latency of a spec applied to a trained checkpoint at inference.</summary>
/// <param name="Spec">The spec applied.</param>
/// <param name="Accuracy">Test accuracy in [0, 1].</param>
/// <param name="Loss">Test loss.</param>
/// <param name="MacsPerImage">Multiply-accumulates per image counted from what ran.</param>
/// <param name="Timing">Its latency.</param>
/// <param name="Correct">Per test image, in order, '1' where it was classified right and '0' where not (the paired bootstrap's
/// input; null in files written before it was recorded, which are measured again).</param>
public sealed record ExperimentInferenceResult(string Spec, double Accuracy, double Loss, double MacsPerImage, ExperimentTiming Timing, string? Correct = null)
{
    /// <summary>Flags written by <see cref="Encode"/>, read back.</summary>
    public static bool[] Decode(string correct) => correct.Select(c => c == '1').ToArray();

    /// <summary>Flags as <see cref="Correct"/> writes them.</summary>
    public static string Encode(IReadOnlyList<bool> flags) => string.Concat(flags.Select(f => f ? '1' : '0'));
}

/// <summary>Measures checkpoints on one device and one data set's test split.</summary>
internal sealed class ExperimentBench(ExperimentConfig config, string deviceSpec) : IDisposable
{
    private Device? _device;
    private ImageDataset? _test;
    private Normalization? _normalization;
    private Tensor<float>? _images;

    /// <summary>Times <paramref name="specs"/> on the checkpoint at <paramref name="checkpoint"/>, each against "none" in the same comparison.</summary>
    public IReadOnlyList<ExperimentTiming> Time(string checkpoint, IReadOnlyList<string> specs)
    {
        using var model = Load(checkpoint);
        return Time(model, specs);
    }

    /// <summary>Evaluates and times each of <paramref name="specs"/> applied to the checkpoint at <paramref name="checkpoint"/>.</summary>
    public IReadOnlyList<ExperimentInferenceResult> Infer(string checkpoint, IReadOnlyList<string> specs)
    {
        using var model = Load(checkpoint);
        var evaluations = specs.Select(spec =>
        {
            ReductionMethod.Apply(model, spec);
            return Evaluation.Evaluate(model, _test!, _normalization!);
        }).ToArray();
        ReductionMethod.Apply(model, "none");
        var timings = Time(model, specs);
        return specs.Select((spec, i) => new ExperimentInferenceResult(spec, evaluations[i].Accuracy, evaluations[i].Loss, evaluations[i].MacsPerImage, timings[i],
                ExperimentInferenceResult.Encode(evaluations[i].Correct!)))
            .ToArray();
    }

    private IReadOnlyList<ExperimentTiming> Time(VisionTransformer model, IReadOnlyList<string> specs)
    {
        var latency = config.Latency;
        var results = Latency.Compare(model, _images!, specs.Contains("none") ? specs : ["none", .. specs], latency.Runs);
        double baseline = results.First(r => r.Method == "none").MedianMs;
        return specs.Select(spec => results.First(r => r.Method == spec))
            .Select(r => new ExperimentTiming(r.Method, _device!.Info.Spec, latency.Batch, latency.Runs, r.MedianMs, r.P10Ms, r.P90Ms, baseline))
            .ToArray();
    }

    /// <summary>The checkpoint's model on the device, with the test split and the latency batch ready.</summary>
    private VisionTransformer Load(string checkpoint)
    {
        Open();
        var model = new VisionTransformer(TrainingCheckpoint.ReadInfo(checkpoint).Config, _device!);
        try
        {
            TrainingCheckpoint.Load(checkpoint, model);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void Open()
    {
        if (_device is not null) return;
        (_test, _normalization) = DataSets.Load(config.Data, config.DataDir, train: false);
        if (config.TestLimit > 0) _test = _test.Take(Math.Min(config.TestLimit, _test.Count));
        int batch = config.Latency.Batch;
        if (batch > _test.Count)
            throw new ArgumentException($"latency.batch {batch} exceeds the {_test.Count} test images (lower it, or raise testLimit).");
        var loader = new DataLoader(_test.Take(batch), new LoaderOptions { BatchSize = batch, Normalization = _normalization });
        var images = loader.Epoch(0).First();
        var model = ModelRegistry.Get(config.Model);
        _device = Device.Open(deviceSpec);
        _images = Tensor<float>.FromArray(_device, images.ImageSpan, batch, model.InChannels, model.ImageSize, model.ImageSize);
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _images?.Dispose();
        _device?.Dispose();
    }
}
