// Per-row cross-entropy of logits against integer labels, with label smoothing (the training loss).
//   log p_j = x_j - lse,   lse = m + log sum_j exp(x_j - m),   m = max_j x_j   (stable log-softmax)
//   loss    = -(1 - eps) log p_y - (eps / classes) sum_j log p_j
//           = lse - (1 - eps) x_y - (eps / classes) sum_j x_j
// Optionally writes the softmax probabilities p, which the backward needs:
//   dloss/dx_j = p_j - (1 - eps) [j = y] - eps / classes.
// A label outside [0, classes) gives a NaN loss for its row (the launcher cannot read labels on
// the device cheaply; NaN makes the mistake visible in the mean loss). On the CPU one kernel index
// is one row; on GPUs one group per row (CrossEntropyGroupKernel, docs/backends.md "GPU row kernels").
// Source: torch.nn.functional.cross_entropy(label_smoothing=eps), Szegedy et al. 2016.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Cross-entropy of each row of <paramref name="logits"/> (B, classes) against
    /// <paramref name="labels"/> (B) into <paramref name="loss"/> (B), with label smoothing
    /// <paramref name="labelSmoothing"/> (the target puts 1 - eps + eps / classes on the label and
    /// eps / classes elsewhere). With <paramref name="probabilities"/> (B, classes), also writes
    /// softmax(logits). A label outside [0, classes) is not checked on the host; its row's loss is NaN.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, classes), (B), (B) and (B, classes).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public static void CrossEntropy(Tensor<float> logits, Tensor<int> labels, Tensor<float> loss,
        float labelSmoothing = 0f, Tensor<float>? probabilities = null)
    {
        OnOneDevice("CrossEntropy", logits, labels, loss, probabilities);
        ShapeMismatchException.Require(logits.Shape.Rank == 2, "CrossEntropy", $"logits have shape {logits.Shape}; they need (B, classes).");
        int batch = logits.Shape[0], classes = logits.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("CrossEntropy", "labels", new Shape(batch), labels.Shape);
        ShapeMismatchException.ThrowIfDifferent("CrossEntropy", "loss", new Shape(batch), loss.Shape);
        if (probabilities is not null)
            ShapeMismatchException.ThrowIfDifferent("CrossEntropy", "probabilities", logits.Shape, probabilities.Shape);
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, "CrossEntropy: label smoothing must lie in [0, 1].");
        if (batch == 0) return;
        if (!logits.Device.UsesCpuFastPath)
        {
            var rowGroups = logits.Device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float, int>(CrossEntropyGroupKernel));
            rowGroups(logits.Device.Accelerator.DefaultStream, new KernelConfig(batch, RowGroup(logits.Device, classes)), logits.View, labels.View, loss.View,
                (probabilities ?? logits).View, classes, labelSmoothing, probabilities is null ? 0 : 1);
            return;
        }
        var launch = logits.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, float, int>(CrossEntropyKernel, group));
        launch(logits.Device.Accelerator.DefaultStream, batch, logits.View, labels.View, loss.View,
            (probabilities ?? logits).View, classes, labelSmoothing, probabilities is null ? 0 : 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CrossEntropyKernel(Index1D row, ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss,
        ArrayView<float> probabilities, int classes, float smoothing, int hasProbabilities) =>
        CrossEntropyRow(logits, labels, loss, probabilities, row, classes, smoothing, hasProbabilities);

    // One group per row: CrossEntropyRowPortable with strided, coalesced loops and group reductions.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CrossEntropyGroupKernel(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss,
        ArrayView<float> probabilities, int classes, float smoothing, int hasProbabilities)
    {
        int row = Grid.IdxX;
        long offset = (long)row * classes;
        float max = float.NegativeInfinity, sumx = 0f;
        for (int j = Group.IdxX; j < classes; j += Group.DimX)
        {
            max = MathF.Max(max, logits[offset + j]);
            sumx += logits[offset + j];
        }
        max = GroupReduce<MaxOp>(max);
        sumx = GroupReduce<SumOp>(sumx);
        float sum = 0f;
        for (int j = Group.IdxX; j < classes; j += Group.DimX)
        {
            float e = MathF.Exp(logits[offset + j] - max);
            if (hasProbabilities != 0) probabilities[offset + j] = e;
            sum += e;
        }
        sum = GroupReduce<SumOp>(sum);
        if (hasProbabilities != 0)
        {
            float inv = 1f / sum;
            for (int j = Group.IdxX; j < classes; j += Group.DimX) probabilities[offset + j] *= inv;
        }
        if (Group.IdxX == 0) loss[row] = CrossEntropyLoss(labels[row], logits, row, classes, max + MathF.Log(sum), sumx, smoothing);
    }

    /// <summary>loss[row] (and probabilities row <paramref name="row"/> when asked) from logits row <paramref name="row"/>.</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(CrossEntropyRowPortable))]
    internal static unsafe void CrossEntropyRow(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss,
        ArrayView<float> probabilities, int row, int classes, float smoothing, int hasProbabilities)
    {
        float* xs = FastMath.Address(logits, (long)row * classes);
        // Pass 1: the maximum and the plain sum (for the smoothing term).
        var vmax = Vector512.Create(float.NegativeInfinity);
        var vsumx = Vector512<float>.Zero;
        int j = 0;
        for (; j + 16 <= classes; j += 16)
        {
            var v = Vector512.Load(xs + j);
            vmax = Vector512.Max(vmax, v);
            vsumx += v;
        }
        float max = FastMath.MaxAcross(vmax), sumx = Vector512.Sum(vsumx);
        for (; j < classes; j++)
        {
            max = MathF.Max(max, xs[j]);
            sumx += xs[j];
        }
        // Pass 2: sum of exp(x - max), storing the exponentials as unnormalised probabilities.
        var vm = Vector512.Create(max);
        var vsum = Vector512<float>.Zero;
        float* ps = hasProbabilities != 0 ? FastMath.Address(probabilities, (long)row * classes) : null;
        for (j = 0; j + 16 <= classes; j += 16)
        {
            var e = FastMath.Exp(Vector512.Load(xs + j) - vm);
            if (ps != null) e.Store(ps + j);
            vsum += e;
        }
        float sum = Vector512.Sum(vsum);
        for (; j < classes; j++)
        {
            float e = MathF.Exp(xs[j] - max);
            if (ps != null) ps[j] = e;
            sum += e;
        }
        if (ps != null)
        {
            float inv = 1f / sum;
            var vinv = Vector512.Create(inv);
            for (j = 0; j + 16 <= classes; j += 16) (Vector512.Load(ps + j) * vinv).Store(ps + j);
            for (; j < classes; j++) ps[j] *= inv;
        }
        loss[row] = CrossEntropyLoss(labels[row], logits, row, classes, max + MathF.Log(sum), sumx, smoothing);
    }

    internal static void CrossEntropyRowPortable(ArrayView<float> logits, ArrayView<int> labels, ArrayView<float> loss,
        ArrayView<float> probabilities, int row, int classes, float smoothing, int hasProbabilities)
    {
        int offset = row * classes;
        float max = float.NegativeInfinity, sumx = 0f;
        for (int j = 0; j < classes; j++)
        {
            max = MathF.Max(max, logits[offset + j]);
            sumx += logits[offset + j];
        }
        float sum = 0f;
        for (int j = 0; j < classes; j++)
        {
            float e = MathF.Exp(logits[offset + j] - max);
            if (hasProbabilities != 0) probabilities[offset + j] = e;
            sum += e;
        }
        if (hasProbabilities != 0)
        {
            float inv = 1f / sum;
            for (int j = 0; j < classes; j++) probabilities[offset + j] *= inv;
        }
        loss[row] = CrossEntropyLoss(labels[row], logits, row, classes, max + MathF.Log(sum), sumx, smoothing);
    }

    // loss = lse - (1 - eps) x_y - (eps / classes) sum_j x_j; NaN for a label outside [0, classes).
    // The smoothing term is skipped at eps = 0 so a -inf logit (a masked class) does not give 0 * inf = NaN.
    private static float CrossEntropyLoss(int label, ArrayView<float> logits, int row, int classes,
        float lse, float sumx, float smoothing)
    {
        if (label < 0 || label >= classes) return float.NaN;
        float loss = lse - (1f - smoothing) * logits[row * classes + label];
        if (smoothing != 0f) loss -= smoothing / classes * sumx;
        return loss;
    }
}
