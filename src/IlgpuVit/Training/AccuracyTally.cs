// Top-1 and top-5 accuracy and mean cross-entropy accumulated over batches of logits on the host, for
// evaluations that need top-5, which no kernel computes (Evaluation with topFive). The rank of the true class counts the logits above it plus the equal ones at lower
// indices, so top-1 agrees with Ops.ArgMax (first maximum wins) and ties never favour the label.
// Cross-entropy is log-sum-exp minus the label's logit, in double.
namespace IlgpuVit.Training;

/// <summary>Running top-1 / top-5 accuracy and cross-entropy of classified images.</summary>
public sealed class AccuracyTally
{
    private long _top1, _top5;
    private double _lossSum;

    /// <summary>Images added.</summary>
    public int Images { get; private set; }

    /// <summary>Fraction of images whose label is the highest logit (0 before any image).</summary>
    public double Top1 => Images == 0 ? 0 : (double)_top1 / Images;

    /// <summary>Fraction of images whose label is among the five highest logits (all of them with fewer than five classes).</summary>
    public double Top5 => Images == 0 ? 0 : (double)_top5 / Images;

    /// <summary>Mean cross-entropy (no label smoothing).</summary>
    public double Loss => Images == 0 ? 0 : _lossSum / Images;

    /// <summary>Adds a batch: <paramref name="logits"/> (labels.Length, <paramref name="classes"/>) row-major.</summary>
    /// <exception cref="ArgumentException">The logits are not labels.Length rows of <paramref name="classes"/>, or a label is out of range.</exception>
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int classes)
    {
        if (classes < 1 || logits.Length != labels.Length * classes)
            throw new ArgumentException($"Logits of {logits.Length} values are not {labels.Length} rows of {classes} classes.", nameof(logits));
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if ((uint)label >= (uint)classes)
                throw new ArgumentException($"Label {label} of image {i} is outside the model's {classes} classes.", nameof(labels));
            var row = logits.Slice(i * classes, classes);
            int rank = Rank(row, label);
            if (rank == 0) _top1++;
            if (rank < 5 && rank < classes) _top5++;     // rank == classes: a NaN logit
            _lossSum += LogSumExp(row) - row[label];
        }
        Images += labels.Length;
    }

    /// <summary>Position of class <paramref name="label"/> when the row is sorted by falling logit, first index first among equals.</summary>
    public static int Rank(ReadOnlySpan<float> row, int label)
    {
        float value = row[label];
        if (float.IsNaN(value)) return row.Length;     // a NaN logit is never a correct prediction
        int rank = 0;
        for (int c = 0; c < row.Length; c++)
            if (row[c] > value || (row[c] == value && c < label)) rank++;
        return rank;
    }

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        double max = double.NegativeInfinity;
        foreach (float v in row) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in row) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
