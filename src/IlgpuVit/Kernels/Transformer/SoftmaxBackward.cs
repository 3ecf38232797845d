// Backward of Softmax (Softmax.cs): with y = softmax(s x + bias) per row,
//   dx_j = s y_j (dy_j - sum_k dy_k y_k).
// The key bias is a constant (log sizes), so it has no gradient here. Gradient convention: dx is an
// activation gradient and is OVERWRITTEN; it may be dy (each dy_j is read before dx_j is written).
// Geometry as LayerNorm's: on the CPU one kernel index covers rows of about 4096 elements in all
// (attention rows are short: 50 keys); on GPUs one thread group per row (GroupReduce.cs).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Gradient of <see cref="Softmax"/> with respect to its input: from the output
    /// <paramref name="y"/> (rows, n) and its gradient <paramref name="dy"/> (rows, n), writes
    /// <paramref name="dx"/> (rows, n; may be dy) = scale y (dy - sum_k dy_k y_k) per row.
    /// </summary>
    /// <exception cref="ShapeMismatchException">dy or dx differs from y's shape.</exception>
    public static void SoftmaxBackward(Tensor<float> y, Tensor<float> dy, Tensor<float> dx, float scale = 1f)
    {
        const string op = "SoftmaxBackward";
        var device = OnOneDevice(op, y, dy, dx);
        ShapeMismatchException.ThrowIfDifferent(op, "dy", y.Shape, dy.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dx", y.Shape, dx.Shape);
        int n = y.Shape[-1];
        int rows = CheckedLength(op, y) / n;
        if (!device.UsesCpuFastPath)
        {
            var rowLaunch = device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(SoftmaxBackwardGroupKernel));
            rowLaunch(device.Accelerator.DefaultStream, new KernelConfig(rows, RowGroup(device, n)), y.View, dy.View, dx.View, n, scale);
            return;
        }
        int rowsPerIndex = Math.Max(1, ElementwiseChunk / n);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float>(SoftmaxBackwardKernel, group));
        launch(device.Accelerator.DefaultStream, (rows + rowsPerIndex - 1) / rowsPerIndex, y.View, dy.View, dx.View,
            n, rows, rowsPerIndex, scale);
    }

    /// <summary>GPUs: one group per row, as the forward (Softmax.cs); the dot product is reduced across the group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxBackwardGroupKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n, float scale)
    {
        long offset = (long)Grid.IdxX * n;
        float dot = 0f;
        for (int j = Group.IdxX; j < n; j += Group.DimX) dot += dy[offset + j] * y[offset + j];
        dot = GroupReduce<SumOp>(dot);
        for (int j = Group.IdxX; j < n; j += Group.DimX) dx[offset + j] = scale * y[offset + j] * (dy[offset + j] - dot);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxBackwardKernel(Index1D index, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        int n, int rows, int rowsPerIndex, float scale)
    {
        int first = index * rowsPerIndex;
        SoftmaxBackwardRows(y, dy, dx, first, Math.Min(rowsPerIndex, rows - first), n, scale);
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(SoftmaxBackwardRowsPortable))]
    internal static unsafe void SoftmaxBackwardRows(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        int first, int count, int n, float scale)
    {
        var vs = Vector512.Create(scale);
        for (int row = first; row < first + count; row++)
        {
            float* ys = FastMath.Address(y, (long)row * n);
            float* dys = FastMath.Address(dy, (long)row * n);
            float* dxs = FastMath.Address(dx, (long)row * n);
            // Pass 1: dot = sum_k dy_k y_k.
            var vdot = Vector512<float>.Zero;
            int j = 0;
            for (; j + 16 <= n; j += 16) vdot = Vector512.FusedMultiplyAdd(Vector512.Load(dys + j), Vector512.Load(ys + j), vdot);
            float dot = Vector512.Sum(vdot);
            for (; j < n; j++) dot += dys[j] * ys[j];
            // Pass 2: dx = s y (dy - dot).
            var vd = Vector512.Create(dot);
            for (j = 0; j + 16 <= n; j += 16) (vs * Vector512.Load(ys + j) * (Vector512.Load(dys + j) - vd)).Store(dxs + j);
            for (; j < n; j++) dxs[j] = scale * ys[j] * (dys[j] - dot);
        }
    }

    internal static void SoftmaxBackwardRowsPortable(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        int first, int count, int n, float scale)
    {
        for (int row = first; row < first + count; row++)
        {
            int offset = row * n;
            float dot = 0f;
            for (int j = 0; j < n; j++) dot += dy[offset + j] * y[offset + j];
            for (int j = 0; j < n; j++) dx[offset + j] = scale * y[offset + j] * (dy[offset + j] - dot);
        }
    }
}
