// Argmax per row: the index of the largest element of each row of x (..., n), for predictions
// (accuracy) and for hosts of pruned tokens (eTPS, VPA: the kept token most similar to j).
// Same order as TopK: ties go to the lower index, NaN ranks below every number, so a row that is
// all NaN gives 0. ArgMax(x) equals TopK(x, k = 1). On the CPU one kernel index is a block of rows;
// on GPUs one group per row (ArgMaxGroupKernel, docs/backends.md "GPU row kernels").
// Source: torch.argmax (first occurrence of the maximum), except that torch picks a NaN as the maximum.
using System.Numerics;
using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// The index of the largest element of each row of <paramref name="x"/> (..., n) into
    /// <paramref name="index"/> (...): x's shape without its last dimension. Ties go to the lower
    /// index; NaN counts as smaller than every number (a row of NaNs gives 0).
    /// </summary>
    /// <exception cref="ShapeMismatchException">index's shape is not x's without the last dimension.</exception>
    public static void ArgMax(Tensor<float> x, Tensor<int> index)
    {
        OnOneDevice("ArgMax", x, index);
        ShapeMismatchException.ThrowIfDifferent("ArgMax", "index", new Shape(x.Shape.Dims[..^1].ToArray()), index.Shape);
        int n = x.Shape[-1];
        int rows = (int)x.Shape.Outer(-1);
        if (rows == 0) return;
        if (!x.Device.UsesCpuFastPath)
        {
            var rowGroups = x.Device.Kernel(static (acc, _) => acc.LoadKernel<ArrayView<float>, ArrayView<int>, int>(ArgMaxGroupKernel));
            rowGroups(x.Device.Accelerator.DefaultStream, new KernelConfig(rows, RowGroup(x.Device, n)), x.View, index.View, n);
            return;
        }
        int block = RowsPerIndex(x.Device, rows);
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, int, int, int>(ArgMaxKernel, group));
        launch(x.Device.Accelerator.DefaultStream, Blocks(rows, block), x.View, index.View, n, rows, block);
    }

    // One index per block of rows (one row on GPUs).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ArgMaxKernel(Index1D i, ArrayView<float> x, ArrayView<int> index, int n, int rows, int rowsPerIndex)
    {
        for (int row = i * rowsPerIndex; row < Math.Min(rows, (i + 1) * rowsPerIndex); row++) ArgMaxRow(x, index, row * n, row, n);
    }

    // One group per row, ArgMaxRow's two passes: the largest number (NaN skipped), then the lowest
    // index holding it; a row without numbers (all NaN) gives 0.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ArgMaxGroupKernel(ArrayView<float> x, ArrayView<int> index, int n)
    {
        int row = Grid.IdxX;
        long offset = (long)row * n;
        float best = float.NegativeInfinity;
        for (int j = Group.IdxX; j < n; j += Group.DimX)
            if (x[offset + j] > best) best = x[offset + j];
        best = GroupReduce<MaxOp>(best);
        int first = n;
        for (int j = Group.IdxX; j < n && first == n; j += Group.DimX)
            if (x[offset + j] == best) first = j;
        first = GroupMinIndex(first);
        if (Group.IdxX == 0) index[row] = first == n ? 0 : first;
    }

    /// <summary>index[row] = the argmax of x[offset .. offset + n).</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(ArgMaxRowPortable))]
    internal static unsafe void ArgMaxRow(ArrayView<float> x, ArrayView<int> index, int offset, int row, int n)
    {
        float* xs = FastMath.Address(x, offset);
        // Pass 1: the largest number (a NaN never compares greater, so it is never picked).
        var vbest = Vector512.Create(float.NegativeInfinity);
        int j = 0;
        for (; j + 16 <= n; j += 16)
        {
            var v = Vector512.Load(xs + j);
            vbest = Vector512.ConditionalSelect(Vector512.GreaterThan(v, vbest), v, vbest);
        }
        float best = float.NegativeInfinity;
        for (int lane = 0; lane < 16; lane++) if (vbest[lane] > best) best = vbest[lane];
        for (; j < n; j++) if (xs[j] > best) best = xs[j];
        // Pass 2: its first occurrence; none when the row is all NaN.
        var vb = Vector512.Create(best);
        for (j = 0; j + 16 <= n; j += 16)
        {
            ulong hits = Vector512.Equals(Vector512.Load(xs + j), vb).ExtractMostSignificantBits();
            if (hits != 0)
            {
                index[row] = j + BitOperations.TrailingZeroCount(hits);
                return;
            }
        }
        for (; j < n; j++)
            if (xs[j] == best)
            {
                index[row] = j;
                return;
            }
        index[row] = 0;
    }

    internal static void ArgMaxRowPortable(ArrayView<float> x, ArrayView<int> index, int offset, int row, int n)
    {
        int arg = 0;
        float best = x[offset];
        for (int j = 1; j < n; j++)
        {
            float v = x[offset + j];
            // Strictly greater keeps the lower index on ties; any number beats a NaN.
            if (v > best || (float.IsNaN(best) && !float.IsNaN(v)))
            {
                arg = j;
                best = v;
            }
        }
        index[row] = arg;
    }
}
