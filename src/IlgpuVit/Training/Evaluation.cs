// Test-set evaluation: top-1 accuracy (top-5 when asked) and mean cross-entropy of a model over
// batches from any loader (DataLoader for in-memory data sets, IlgpuVit.Images' ImageFolderLoader for
// image folders, or a program's own), on a no-grad tape (nothing recorded, intermediates freed per
// batch), with the FLOPs of what ran: the blocks' reducers decide the token counts, which every batch
// shares. Compare runs several reduction variants in one pass, each batch through every variant in
// turn, so the images are loaded (and decoded) once.
// A batch is scored on the device (CrossEntropy and ArgMax; only the predictions and one loss value
// come back) unless top-5 is asked for, which needs the logits on the host: then AccuracyTally ranks
// them and takes the loss in double. The two agree up to the float rounding of the loss.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Kernels;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;

namespace IlgpuVit.Training;

/// <summary>Accuracy and loss of a model on a data set.</summary>
/// <param name="Accuracy">Top-1 accuracy in [0, 1].</param>
/// <param name="Loss">Mean cross-entropy (no label smoothing).</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="Seconds">Wall time of the pass (of every variant together, for <see cref="Evaluation.Compare"/>).</param>
/// <param name="MacsPerImage">Multiply-accumulates per image counted from the token counts that ran (docs/flops.md).</param>
/// <param name="TokensAfterLayer">Tokens each block handed on (the same for every image).</param>
/// <param name="Top5">Top-5 accuracy in [0, 1] when it was asked for, else null.</param>
/// <param name="Correct">Whether each image, in order, was classified right (top-1; null with top-5, which ranks on the host):
/// two variants on the same images are compared image by image (the experiments' paired bootstrap).</param>
public readonly record struct EvaluationResult(double Accuracy, double Loss, int Images, double Seconds, double MacsPerImage = 0,
    IReadOnlyList<int>? TokensAfterLayer = null, double? Top5 = null, IReadOnlyList<bool>? Correct = null)
{
    /// <summary>Throughput.</summary>
    public double ImagesPerSecond => Images / Math.Max(Seconds, 1e-9);
}

/// <summary>Evaluates models.</summary>
public static class Evaluation
{
    /// <summary>Top-1 accuracy and mean loss of <paramref name="model"/> on <paramref name="data"/>, resized to the model's input when needed.</summary>
    public static EvaluationResult Evaluate(VisionTransformer model, ImageDataset data, Normalization normalization, int batchSize = 256)
    {
        var cfg = model.Config;
        var loader = new DataLoader(data, new LoaderOptions
        {
            BatchSize = batchSize, Normalization = normalization, Prefetch = true, ResizeTo = data.Height == cfg.ImageSize ? 0 : cfg.ImageSize,
        });
        return Evaluate(model, loader.Epoch(0));
    }

    /// <summary>
    /// Top-1 accuracy (and top-5 with <paramref name="topFive"/>) and mean loss of <paramref name="model"/>, as its blocks' reducers
    /// stand, on every image of <paramref name="batches"/> (normalised, of the model's input size).
    /// </summary>
    /// <exception cref="ShapeMismatchException">A batch's images do not fit the model.</exception>
    public static EvaluationResult Evaluate(VisionTransformer model, IEnumerable<Batch> batches, bool topFive = false) =>
        Compare(model, batches, [model.Reducers], topFive)[0];

    /// <summary>
    /// Evaluates each of <paramref name="variants"/> (the reducer of each block, see <see cref="VisionTransformer.Reducers"/>) of
    /// <paramref name="model"/> on <paramref name="batches"/> in one pass: every batch runs through every variant in turn. The
    /// model's reducers are restored afterwards.
    /// </summary>
    /// <returns>One result per variant, in order.</returns>
    /// <exception cref="ShapeMismatchException">A batch's images do not fit the model.</exception>
    /// <exception cref="ArgumentException">A variant's count is not the model's depth, or a label is outside the model's classes (with <paramref name="topFive"/>).</exception>
    public static IReadOnlyList<EvaluationResult> Compare(VisionTransformer model, IEnumerable<Batch> batches,
        IReadOnlyList<IReadOnlyList<ITokenReducer?>> variants, bool topFive = false)
    {
        var original = model.Reducers;
        var clock = Stopwatch.StartNew();
        var scores = variants.Select(_ => new Score(topFive)).ToArray();
        try
        {
            foreach (var batch in batches)
            {
                using var images = Tensor<float>.FromArray(model.Device, batch.ImageSpan, batch.Count, batch.Channels, batch.Height, batch.Width);
                using var labels = topFive ? null : Tensor<int>.FromArray(model.Device, batch.LabelSpan, batch.Count);
                for (int v = 0; v < variants.Count; v++)
                {
                    model.Reducers = variants[v];
                    scores[v].Add(model, images, labels, batch);
                }
            }
        }
        finally
        {
            model.Reducers = original;
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return scores.Select(s => s.Result(model.Config, seconds)).ToArray();
    }

    /// <summary>One variant's running totals: on the host (<see cref="AccuracyTally"/>, for top-5) or from the device's kernels.</summary>
    private sealed class Score(bool topFive)
    {
        private readonly AccuracyTally? _host = topFive ? new AccuracyTally() : null;
        private readonly List<bool> _right = [];
        private long _correct, _images;
        private double _lossSum;
        private TokenState? _first;

        public void Add(VisionTransformer model, Tensor<float> images, Tensor<int>? labels, Batch batch)
        {
            using var tape = Tape.NoGrad();
            var state = new TokenState();
            var logits = model.Forward(tape, images, state);
            _first ??= state;
            if (_host is not null)
            {
                _host.Add(logits.Value.ToArray(), batch.LabelSpan, model.Config.Classes);
                return;
            }
            using var predictions = Tensor<int>.Empty(model.Device, batch.Count);
            var loss = tape.CrossEntropy(logits, labels!);
            Ops.ArgMax(logits.Value, predictions);
            _lossSum += loss.Value.ToArray()[0] * (double)batch.Count;
            var predicted = predictions.ToArray();
            for (int i = 0; i < batch.Count; i++)
            {
                bool right = predicted[i] == batch.Labels[i];
                _right.Add(right);
                if (right) _correct++;
            }
            _images += batch.Count;
        }

        public EvaluationResult Result(VitConfig config, double seconds)
        {
            double macs = _first is null ? 0 : Flops.Macs(config, _first);
            return _host is null
                ? new EvaluationResult((double)_correct / _images, _lossSum / _images, (int)_images, seconds, macs, _first?.TokensAfterLayer, Correct: _right)
                : new EvaluationResult(_host.Top1, _host.Loss, _host.Images, seconds, macs, _first?.TokensAfterLayer, _host.Top5);
        }
    }
}
