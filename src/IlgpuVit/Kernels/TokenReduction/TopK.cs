// Top-k per row: the indices (and optionally values) of the k largest elements of each row of x,
// largest first, for Top-K token pruning (docs/methods.md: keep the tokens with the highest CLS score).
// Method: a rank count, deterministic and parallel with no sort and no atomics:
//   rank(i) = #{j < i : x[j] >= x[i]} + #{j > i : x[j] > x[i]}
// which orders by value descending with ties going to the lower index (docs/methods.md: ties are broken
// by the lower token index). Ranks are a permutation of 0..n-1, so slot rank(i) < k is written by
// exactly one i. NaN ranks below every number (below -inf); NaNs tie with each other.
// O(n^2) per row: for ViT rows (n <= 577) that is a few hundred thousand compares per row, cheaper
// than a launch of a sorting network, and ILGPU.Algorithms' RadixSort is broken on the CPU accelerator.
// On the CPU accelerator one kernel index ranks a whole row (Vector512 counting). On GPUs one thread
// group owns a row (docs/backends.md, "GPU row kernels"): it copies the row into shared memory with
// coalesced loads when it fits (TopKSharedRow floats, 16 KiB), and each thread ranks a contiguous run
// of the row's elements against it; all threads read the same element at once (a broadcast). Longer
// rows are ranked straight from global memory, so any length works.
// Source: torch.topk(sorted=True), with the tie order that torch leaves unspecified made explicit.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// The indices of the <c>k</c> largest elements of each row of <paramref name="x"/> (..., n) into
    /// <paramref name="index"/> (..., k), largest first; equal values come out in increasing index
    /// order. NaN counts as smaller than every number, so NaNs come last (in index order).
    /// With <paramref name="values"/> (..., k), also writes the values in the same order.
    /// </summary>
    /// <example><code>Ops.TopK(scores, keep); // scores (B, N-1), keep (B, kept)</code></example>
    /// <exception cref="ShapeMismatchException">index is not (..., k) with 1 &lt;= k &lt;= n and x's leading dimensions, or values differs from index.</exception>
    public static void TopK(Tensor<float> x, Tensor<int> index, Tensor<float>? values = null)
    {
        OnOneDevice("TopK", x, index, values);
        int n = x.Shape[-1], k = index.Shape.Rank == 0 ? 0 : index.Shape[-1];
        ShapeMismatchException.Require(index.Shape.Rank == x.Shape.Rank && k >= 1 && k <= n && LeadingEqual(x.Shape, index.Shape), "TopK",
            $"index has shape {index.Shape}; x {x.Shape} needs the same leading dimensions and a last dimension k in [1, {n}].");
        if (values is not null)
            ShapeMismatchException.ThrowIfDifferent("TopK", "values", index.Shape, values.Shape);
        int rows = (int)x.Shape.Outer(-1);
        var device = x.Device;
        if (!device.UsesCpuFastPath)
        {
            var rowLaunch = device.Kernel(static (acc, _) => acc.LoadKernel<
                ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(TopKGroupKernel));
            rowLaunch(device.Accelerator.DefaultStream, new KernelConfig(rows, RowGroup(device, n)),
                x.View, index.View, (values ?? x).View, n, k, values is null ? 0 : 1);
            return;
        }
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(TopKKernel, group));
        launch(device.Accelerator.DefaultStream, rows, x.View, index.View, (values ?? x).View, n, k, values is null ? 0 : 1);
    }

    /// <summary>The longest row the GPU top-k stages in shared memory (16 KiB); longer rows are read from global memory.</summary>
    private const int TopKSharedRow = 4096;

    // Whether two shapes agree on every dimension but the last.
    private static bool LeadingEqual(Shape a, Shape b)
    {
        if (a.Rank != b.Rank) return false;
        for (int d = 0; d < a.Rank - 1; d++)
            if (a[d] != b[d]) return false;
        return true;
    }

    // One index = one row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TopKKernel(Index1D row, ArrayView<float> x, ArrayView<int> top, ArrayView<float> values, int n, int k, int hasValues) =>
        TopKRanks(x, top, values, row * n, row * k, n, k, 0, n, hasValues);

    /// <summary>One group per row: thread t ranks elements [t·c, (t + 1)·c), c = ⌈n / group size⌉, against the staged row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TopKGroupKernel(ArrayView<float> x, ArrayView<int> top, ArrayView<float> values, int n, int k, int hasValues)
    {
        var staged = SharedMemory.Allocate<float>(TopKSharedRow);
        int row = Grid.IdxX;
        int chunk = (n + Group.DimX - 1) / Group.DimX, i0 = Math.Min(n, Group.IdxX * chunk), i1 = Math.Min(n, i0 + chunk);
        // One branch per source rather than one variable for both: shared and global memory are different address
        // spaces in OpenCL C. n is the same for the whole group, so every thread meets the barrier.
        if (n <= TopKSharedRow)
        {
            for (int j = Group.IdxX; j < n; j += Group.DimX) staged[j] = x[row * n + j];
            Group.Barrier();
            TopKRanksPortable(staged, top, values, 0, row * k, n, k, i0, i1, hasValues);
        }
        else TopKRanksPortable(x, top, values, row * n, row * k, n, k, i0, i1, hasValues);
    }

    /// <summary>Ranks x[xOffset + i] for i in [i0, i1) within its row of n; writes those with rank &lt; k.</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(TopKRanksPortable))]
    internal static unsafe void TopKRanks(ArrayView<float> x, ArrayView<int> top, ArrayView<float> values,
        int xOffset, int topOffset, int n, int k, int i0, int i1, int hasValues)
    {
        // Each rank is one branch-free sweep of masked 16-lane compares over the whole row: x[j] outranks x[i] when
        //   x[i] is a number: x[j] > x[i], or x[j] ≥ x[i] with j < i (a NaN x[j] compares false: never);
        //   x[i] is NaN:      j < i (numbers beat NaN, earlier NaNs win the tie), or j > i with x[j] a number.
        // (Scalar tails with data-dependent branches around a vector middle had cost more than the compares.)
        float* xs = FastMath.Address(x, xOffset);
        var lanes = Vector512<int>.Indices;
        for (int i = i0; i < i1; i++)
        {
            float xi = xs[i];
            var vi = Vector512.Create(xi);
            var at = Vector512.Create(i);
            bool nan = float.IsNaN(xi);
            var counts = Vector512<int>.Zero;
            for (int j = 0; j < n; j += 16)
            {
                var v = LoadFirst(xs + j, n - j);
                var column = lanes + Vector512.Create(j);
                var before = Vector512.LessThan(column, at);
                var wins = nan
                    ? before | (Vector512.GreaterThan(column, at) & Vector512.Equals(v, v).AsInt32())
                    : Vector512.GreaterThan(v, vi).AsInt32() | (Vector512.GreaterThanOrEqual(v, vi).AsInt32() & before);
                counts -= wins & Vector512.LessThan(column, Vector512.Create(n));
            }
            int rank = Vector512.Sum(counts);
            if (rank < k)
            {
                top[topOffset + rank] = i;
                if (hasValues != 0) values[topOffset + rank] = xi;
            }
        }
    }

    internal static void TopKRanksPortable(ArrayView<float> x, ArrayView<int> top, ArrayView<float> values,
        int xOffset, int topOffset, int n, int k, int i0, int i1, int hasValues)
    {
        for (int i = i0; i < i1; i++)
        {
            float xi = x[xOffset + i];
            int rank = 0;
            if (float.IsNaN(xi))
            {
                rank = i;
                for (int j = i + 1; j < n; j++) if (!float.IsNaN(x[xOffset + j])) rank++;
            }
            else
            {
                for (int j = 0; j < i; j++) if (x[xOffset + j] >= xi) rank++;
                for (int j = i + 1; j < n; j++) if (x[xOffset + j] > xi) rank++;
            }
            if (rank < k)
            {
                top[topOffset + rank] = i;
                if (hasValues != 0) values[topOffset + rank] = xi;
            }
        }
    }
}
