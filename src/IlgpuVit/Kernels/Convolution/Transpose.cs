// Transpose of the last two axes, y[b, j, i] = x[b, i, j]: a CNN feature map (B, C, H·W) becomes
// tokens (B, H·W, C) for the hybrid ViT, and back in its backward. One kernel index per block of
// output rows (one row on GPUs).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>y (B, N, M) = x (B, M, N) with the last two axes swapped.</summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, M, N) and (B, N, M).</exception>
    public static void TransposeLast2(Tensor<float> x, Tensor<float> y)
    {
        OnOneDevice("TransposeLast2", x, y);
        ShapeMismatchException.Require(x.Shape.Rank == 3, "TransposeLast2", $"x has shape {x.Shape}; it needs (B, M, N).");
        int b = x.Shape[0], m = x.Shape[1], n = x.Shape[2];
        ShapeMismatchException.ThrowIfDifferent("TransposeLast2", "y", new Shape(b, n, m), y.Shape);
        int rows = b * n, block = RowsPerIndex(y.Device, rows);
        var launch = y.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, int, int>(TransposeLast2Kernel, group));
        launch(y.Device.Accelerator.DefaultStream, Blocks(rows, block), x.View, y.View, m, n, rows, block);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TransposeLast2Kernel(Index1D i, ArrayView<float> x, ArrayView<float> y, int m, int n, int rows, int rowsPerIndex)
    {
        for (int row = i * rowsPerIndex; row < Math.Min(rows, (i + 1) * rowsPerIndex); row++)
        {
            int b = row / n, j = row % n;
            long src = (long)b * m * n + j, dst = (long)row * m;
            for (int k = 0; k < m; k++) y[dst + k] = x[src + (long)k * n];
        }
    }
}
