// Test-set evaluation: top-1 accuracy and mean cross-entropy over a data set, batched, on a no-grad
// tape (nothing recorded, intermediates freed per batch), with the FLOPs of what ran: the blocks'
// reducers (if any) decide the token counts, which every batch shares.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Nn;

namespace IlgpuVit.Training;

/// <summary>Accuracy and loss of a model on a data set.</summary>
/// <param name="Accuracy">Top-1 accuracy in [0, 1].</param>
/// <param name="Loss">Mean cross-entropy (no label smoothing).</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="MacsPerImage">Multiply-accumulates per image counted from the token counts that ran (flops.md).</param>
/// <param name="TokensAfterLayer">Tokens each block handed on (the same for every image).</param>
public readonly record struct EvaluationResult(double Accuracy, double Loss, int Images, double Seconds, double MacsPerImage = 0,
    IReadOnlyList<int>? TokensAfterLayer = null)
{
    /// <summary>Throughput.</summary>
    public double ImagesPerSecond => Images / Math.Max(Seconds, 1e-9);
}

/// <summary>Evaluates models.</summary>
public static class Evaluation
{
    /// <summary>Top-1 accuracy and mean loss of <paramref name="model"/> on <paramref name="data"/>.</summary>
    public static EvaluationResult Evaluate(VisionTransformer model, ImageDataset data, Normalization normalization, int batchSize = 256)
    {
        var cfg = model.Config;
        var loader = new DataLoader(data, new LoaderOptions
        {
            BatchSize = batchSize, Normalization = normalization, Prefetch = true, ResizeTo = data.Height == cfg.ImageSize ? 0 : cfg.ImageSize,
        });
        var device = model.Device;
        var clock = Stopwatch.StartNew();
        long correct = 0;
        double lossSum = 0;
        TokenState? first = null;
        foreach (var batch in loader.Epoch(0))
        {
            using var images = Tensor<float>.FromArray(device, batch.ImageSpan, batch.Count, cfg.InChannels, cfg.ImageSize, cfg.ImageSize);
            using var labels = Tensor<int>.FromArray(device, batch.LabelSpan, batch.Count);
            using var predictions = Tensor<int>.Empty(device, batch.Count);
            using var tape = Tape.NoGrad();
            var state = new TokenState();
            var logits = model.Forward(tape, images, state);
            first ??= state;
            var loss = tape.CrossEntropy(logits, labels);
            Ops.ArgMax(logits.Value, predictions);
            lossSum += loss.Value.ToArray()[0] * (double)batch.Count;
            var predicted = predictions.ToArray();
            for (int i = 0; i < batch.Count; i++) if (predicted[i] == batch.Labels[i]) correct++;
        }
        double macs = first is null ? 0 : Metrics.Flops.Macs(cfg, first);
        return new EvaluationResult((double)correct / data.Count, lossSum / data.Count, data.Count, clock.Elapsed.TotalSeconds, macs,
            first?.TokensAfterLayer);
    }
}
