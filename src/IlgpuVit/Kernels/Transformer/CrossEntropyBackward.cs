// Backward of CrossEntropy (CrossEntropy.cs) with label smoothing eps, for a loss scaled by s
// (s = 1/B for the mean over the batch):
//   dlogits_j = s (p_j - (1 - eps) [j = label] - eps / classes),
// p the softmax probabilities the forward saved. Gradient convention: dlogits is an activation
// gradient and is OVERWRITTEN; it may be the probabilities tensor itself. A label outside
// [0, classes) gives a NaN row, as the forward gives a NaN loss (labels stay on the device).
// Geometry: on the CPU one kernel index covers rows of about 4096 elements in all, on GPUs one group
// per row with coalesced stores (docs/backends.md "GPU row kernels").
// Source: torch.nn.functional.cross_entropy(label_smoothing=eps) backward.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Gradient of the cross-entropy loss, scaled by <paramref name="scale"/>, with respect to the
    /// logits: from the <paramref name="probabilities"/> (B, classes) that <see cref="CrossEntropy"/>
    /// saved and the <paramref name="labels"/> (B), writes <paramref name="dlogits"/> (B, classes; may
    /// be the probabilities) = scale (p - (1 - eps) onehot(label) - eps / classes). A label outside
    /// [0, classes) is not checked on the host; its row becomes NaN.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, classes), (B) and (B, classes).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="labelSmoothing"/> is outside [0, 1].</exception>
    public static void CrossEntropyBackward(Tensor<float> probabilities, Tensor<int> labels, Tensor<float> dlogits,
        float labelSmoothing, float scale)
    {
        const string op = "CrossEntropyBackward";
        var device = OnOneDevice(op, probabilities, labels, dlogits);
        ShapeMismatchException.Require(probabilities.Shape.Rank == 2, op,
            $"probabilities have shape {probabilities.Shape}; they need (B, classes).");
        int batch = probabilities.Shape[0], classes = probabilities.Shape[1];
        ShapeMismatchException.ThrowIfDifferent(op, "labels", new Shape(batch), labels.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dlogits", probabilities.Shape, dlogits.Shape);
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing, $"{op}: label smoothing must lie in [0, 1].");
        if (batch == 0) return;
        if (!device.UsesCpuFastPath)
        {
            var rowGroups = device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<int>, ArrayView<float>, int, float, float>(CrossEntropyBackwardGroupKernel));
            rowGroups(device.Accelerator.DefaultStream, new KernelConfig(batch, RowGroup(device, classes)), probabilities.View, labels.View, dlogits.View,
                classes, labelSmoothing, scale);
            return;
        }
        int rowsPerIndex = Math.Max(1, ElementwiseChunk / classes);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, float, float>(CrossEntropyBackwardKernel, group));
        launch(device.Accelerator.DefaultStream, (batch + rowsPerIndex - 1) / rowsPerIndex, probabilities.View, labels.View,
            dlogits.View, classes, batch, rowsPerIndex, labelSmoothing, scale);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CrossEntropyBackwardKernel(Index1D index, ArrayView<float> probabilities, ArrayView<int> labels,
        ArrayView<float> dlogits, int classes, int rows, int rowsPerIndex, float smoothing, float scale)
    {
        int first = index * rowsPerIndex;
        CrossEntropyBackwardRows(probabilities, labels, dlogits, first, Math.Min(rowsPerIndex, rows - first), classes, smoothing, scale);
    }

    // One group per row; no reduction, the group only makes the row's loads and stores coalesced.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CrossEntropyBackwardGroupKernel(ArrayView<float> probabilities, ArrayView<int> labels,
        ArrayView<float> dlogits, int classes, float smoothing, float scale)
    {
        int row = Grid.IdxX, label = labels[row];
        long offset = (long)row * classes;
        bool valid = label >= 0 && label < classes;
        for (int j = Group.IdxX; j < classes; j += Group.DimX)
        {
            float target = (j == label ? 1f - smoothing : 0f) + smoothing / classes;
            dlogits[offset + j] = valid ? scale * (probabilities[offset + j] - target) : float.NaN;
        }
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(CrossEntropyBackwardRowsPortable))]
    internal static unsafe void CrossEntropyBackwardRows(ArrayView<float> probabilities, ArrayView<int> labels, ArrayView<float> dlogits,
        int first, int count, int classes, float smoothing, float scale)
    {
        var vs = Vector512.Create(scale);
        var vu = Vector512.Create(smoothing / classes);
        for (int row = first; row < first + count; row++)
        {
            float* ps = FastMath.Address(probabilities, (long)row * classes);
            float* ds = FastMath.Address(dlogits, (long)row * classes);
            int label = labels[row];
            int j = 0;
            // A bad label poisons the row through the offset: NaN - NaN stays NaN.
            var vo = Vector512.Create(label < 0 || label >= classes ? float.NaN : 0f);
            for (; j + 16 <= classes; j += 16) (vs * (Vector512.Load(ps + j) - vu + vo)).Store(ds + j);
            for (; j < classes; j++) ds[j] = scale * (ps[j] - smoothing / classes + vo[0]);
            if (label >= 0 && label < classes) ds[label] -= scale * (1f - smoothing);
        }
    }

    internal static void CrossEntropyBackwardRowsPortable(ArrayView<float> probabilities, ArrayView<int> labels, ArrayView<float> dlogits,
        int first, int count, int classes, float smoothing, float scale)
    {
        for (int row = first; row < first + count; row++)
        {
            int offset = row * classes, label = labels[row];
            bool valid = label >= 0 && label < classes;
            for (int j = 0; j < classes; j++)
            {
                float target = (j == label ? 1f - smoothing : 0f) + smoothing / classes;
                dlogits[offset + j] = valid ? scale * (probabilities[offset + j] - target) : float.NaN;
            }
        }
    }
}
