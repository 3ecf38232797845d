// Reductions along one axis: x viewed as (outer, axis, inner) gives y (outer, inner), y[o, j] =
// finish(combine over r of x[o, r, j]). Each reduction (Sum, Mean, Max) is one readonly struct
// specialised by one generic kernel, like the ops of Elementwise.cs and ILGPU's
// IScanReduceOperation<T>. The bias gradient of a Linear layer is SumRows: column sums of (rows, C)
// in two deterministic stages (PartialSums.cs), so every core works even when C is one 64-column block.
//
// Launch geometry: one kernel index covers a block of R outer rows times W inner columns.
//   CPU, inner == 1: W = 1, R rows of ~4096 elements: each row is contiguous, reduced with Vector512.
//   CPU, inner > 1:  W = 64 columns: the helper walks the axis row by row (contiguous loads) keeping
//                    four Vector512 accumulators of 16 columns each; R grows when blocks are small.
//   GPU:             W = R = 1: one thread per output element; neighbouring threads read
//                    neighbouring columns, so loads coalesce.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>An associative reduction: identity, pairwise combine (scalar and 16 lanes), and a final step.</summary>
public interface IReduceOp
{
    /// <summary>The value that leaves any other unchanged under <see cref="Combine(float, float)"/>.</summary>
    float Identity { get; }

    /// <summary>Combines two partial results. Must compile with ILGPU: MathF/XMath only, no allocations.</summary>
    float Combine(float a, float b);

    /// <summary>Combines 16 lane pairs (CPU fast path).</summary>
    Vector512<float> Combine(Vector512<float> a, Vector512<float> b);

    /// <summary>The result from the combination of <paramref name="count"/> elements.</summary>
    float Finish(float total, int count);
}

/// <summary>Sum of the elements.</summary>
public readonly struct SumOp : IReduceOp
{
    /// <inheritdoc/>
    public float Identity => 0f;

    /// <inheritdoc/>
    public float Combine(float a, float b) => a + b;

    /// <inheritdoc/>
    public Vector512<float> Combine(Vector512<float> a, Vector512<float> b) => a + b;

    /// <inheritdoc/>
    public float Finish(float total, int count) => total;
}

/// <summary>Arithmetic mean of the elements.</summary>
public readonly struct MeanOp : IReduceOp
{
    /// <inheritdoc/>
    public float Identity => 0f;

    /// <inheritdoc/>
    public float Combine(float a, float b) => a + b;

    /// <inheritdoc/>
    public Vector512<float> Combine(Vector512<float> a, Vector512<float> b) => a + b;

    /// <inheritdoc/>
    public float Finish(float total, int count) => total / count;
}

/// <summary>Largest element.</summary>
public readonly struct MaxOp : IReduceOp
{
    /// <inheritdoc/>
    public float Identity => float.NegativeInfinity;

    /// <inheritdoc/>
    public float Combine(float a, float b) => MathF.Max(a, b);

    /// <inheritdoc/>
    public Vector512<float> Combine(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    /// <inheritdoc/>
    public float Finish(float total, int count) => total;
}

public static partial class Ops
{
    /// <summary>Elements per kernel index the CPU geometry aims for, and inner columns per CPU index (see the file comment).</summary>
    internal const int ReduceChunk = 4096, ReduceWidth = 64;

    /// <summary>
    /// Reduces <paramref name="x"/> along <paramref name="axis"/> (negative counts from the end) with
    /// <paramref name="op"/> into <paramref name="y"/>, whose shape is x's without that axis (a
    /// reduction to one element may also write a (1) tensor).
    /// </summary>
    /// <example><code>Ops.Reduce(dy, dBias, axis: 0, new SumOp()); // (rows, C) -> (C)</code></example>
    /// <exception cref="ShapeMismatchException">The axis is outside x, or y's shape is not x's without the axis.</exception>
    public static void Reduce<TOp>(Tensor<float> x, Tensor<float> y, int axis, TOp op = default) where TOp : struct, IReduceOp
    {
        OnOneDevice("Reduce", x, y);
        string name = OpName<TOp>();
        int rank = x.Shape.Rank;
        ShapeMismatchException.Require(axis >= -rank && axis < rank, name, $"axis {axis} is outside x of shape {x.Shape}.");
        if (axis < 0) axis += rank;
        var dims = x.Shape.Dims;
        var expected = new Shape([.. dims[..axis], .. dims[(axis + 1)..]]);
        ShapeMismatchException.Require(y.Shape == expected || (expected.Rank == 0 && y.Shape == new Shape(1)), name,
            $"y has shape {y.Shape}, expected {expected} (x of shape {x.Shape} without axis {axis}).");
        CheckedLength(name, x);

        int outer = (int)x.Shape.Outer(axis), length = dims[axis], inner = (int)(x.Length / outer / length);
        bool cpu = x.Device.UsesCpuFastPath;
        int cols = cpu && inner > 1 ? Math.Min(ReduceWidth, inner) : 1;
        int rowsPerIndex = cpu ? (int)Math.Max(1, ReduceChunk / ((long)length * cols)) : 1;
        int columnBlocks = (inner + cols - 1) / cols;
        int outerBlocks = (outer + rowsPerIndex - 1) / rowsPerIndex;
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ReduceGeometry, TOp>(ReduceKernel, group));
        launch(x.Device.Accelerator.DefaultStream, outerBlocks * columnBlocks, x.View, y.View,
            new ReduceGeometry(outer, length, inner, rowsPerIndex, cols, columnBlocks), op);
    }

    /// <summary>Sum along <paramref name="axis"/>: y has x's shape without that axis.</summary>
    /// <exception cref="ShapeMismatchException">The axis is outside x, or y's shape is not x's without the axis.</exception>
    public static void Sum(Tensor<float> x, Tensor<float> y, int axis) => Reduce(x, y, axis, new SumOp());

    /// <summary>Mean along <paramref name="axis"/>: y has x's shape without that axis.</summary>
    /// <exception cref="ShapeMismatchException">The axis is outside x, or y's shape is not x's without the axis.</exception>
    public static void Mean(Tensor<float> x, Tensor<float> y, int axis) => Reduce(x, y, axis, new MeanOp());

    /// <summary>Maximum along <paramref name="axis"/>: y has x's shape without that axis.</summary>
    /// <exception cref="ShapeMismatchException">The axis is outside x, or y's shape is not x's without the axis.</exception>
    public static void Max(Tensor<float> x, Tensor<float> y, int axis) => Reduce(x, y, axis, new MaxOp());

    /// <summary>
    /// Column sums of <paramref name="x"/> (rows, C), any leading axes flattened into rows, into
    /// <paramref name="y"/> (C): the bias gradient of a Linear layer. With <paramref name="accumulate"/>
    /// y += the sums, else y = the sums. Deterministic (two stages, no atomics; see PartialSums.cs).
    /// </summary>
    /// <example><code>Ops.SumRows(dy, dBias, accumulate: true); // (B, T, C) -> (C)</code></example>
    /// <exception cref="ShapeMismatchException">y is not (C) for x's last axis C.</exception>
    public static void SumRows(Tensor<float> x, Tensor<float> y, bool accumulate)
    {
        OnOneDevice("SumRows", x, y);
        int c = x.Shape[-1];
        ShapeMismatchException.ThrowIfDifferent("SumRows", "y", new Shape(c), y.Shape);
        int rows = CheckedLength("SumRows", x) / c;
        var device = x.Device;
        int rowsPerBlock = PartialRowsPerBlock(device, rows, c);
        int blocks = (rows + rowsPerBlock - 1) / rowsPerBlock;
        int span = device.UsesCpuFastPath ? c : 1;   // columns per index: the whole row on the CPU, one on GPUs
        using var partials = Tensor<float>.Empty(device, blocks, c);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, int, int>(SumRowsKernel, group));
        launch(device.Accelerator.DefaultStream, blocks * ((c + span - 1) / span), x.View, partials.View, rows, c, rowsPerBlock, span);
        SumPartials(device, partials.View, blocks, c, y.View, y.View, c, accumulate);
    }

    // One index: columns [j0, j0 + span) of one block of rows, summed into that block's partial row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SumRowsKernel(Index1D index, ArrayView<float> x, ArrayView<float> partials,
        int rows, int cols, int rowsPerBlock, int span)
    {
        int spans = (cols + span - 1) / span;
        int block = index / spans, j0 = index % spans * span;
        int r0 = block * rowsPerBlock;
        SumRowsBlock(x, partials, r0, Math.Min(rowsPerBlock, rows - r0), cols, j0, Math.Min(span, cols - j0), block);
    }

    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(SumRowsBlockPortable))]
    internal static unsafe void SumRowsBlock(ArrayView<float> x, ArrayView<float> partials, int r0, int rowCount, int cols,
        int j0, int count, int block) =>
        ReduceColumns(FastMath.Address(x, (long)r0 * cols + j0), FastMath.Address(partials, (long)block * cols + j0),
            rowCount, cols, count, new SumOp());

    internal static void SumRowsBlockPortable(ArrayView<float> x, ArrayView<float> partials, int r0, int rowCount, int cols,
        int j0, int count, int block)
    {
        for (int j = j0; j < j0 + count; j++)
        {
            float sum = 0f;
            for (int r = r0; r < r0 + rowCount; r++) sum += x[r * cols + j];
            partials[block * cols + j] = sum;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ReduceKernel<TOp>(Index1D index, ArrayView<float> x, ArrayView<float> y, ReduceGeometry g, TOp op)
        where TOp : struct, IReduceOp
    {
        int outerStart = index / g.ColumnBlocks * g.RowsPerIndex;
        int j0 = index % g.ColumnBlocks * g.Columns;
        ReduceBlock(x, y, outerStart, Math.Min(g.RowsPerIndex, g.Outer - outerStart), g.Axis, g.Inner,
            j0, Math.Min(g.Columns, g.Inner - j0), op);
    }

    // Reduces x[o, :, j0 .. j0 + cols) into y[o, j0 .. j0 + cols) for outerCount rows o from outerStart.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(ReduceBlockPortable))]
    internal static unsafe void ReduceBlock<TOp>(ArrayView<float> x, ArrayView<float> y, int outerStart, int outerCount,
        int axis, int inner, int j0, int cols, TOp op) where TOp : struct, IReduceOp
    {
        float* xp = FastMath.Address(x, 0), yp = FastMath.Address(y, 0);
        for (int o = outerStart; o < outerStart + outerCount; o++)
        {
            float* src = xp + (long)o * axis * inner + j0;
            float* dst = yp + (long)o * inner + j0;
            if (inner == 1)
                *dst = op.Finish(ReduceContiguous(src, axis, op), axis);
            else
                ReduceColumns(src, dst, axis, inner, cols, op);
        }
    }

    // One contiguous run of n elements, with four accumulators so the adds pipeline.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe float ReduceContiguous<TOp>(float* src, int n, TOp op) where TOp : struct, IReduceOp
    {
        var id = Vector512.Create(op.Identity);
        Vector512<float> a0 = id, a1 = id, a2 = id, a3 = id;
        int j = 0;
        for (; j + 64 <= n; j += 64)
        {
            a0 = op.Combine(a0, Vector512.Load(src + j));
            a1 = op.Combine(a1, Vector512.Load(src + j + 16));
            a2 = op.Combine(a2, Vector512.Load(src + j + 32));
            a3 = op.Combine(a3, Vector512.Load(src + j + 48));
        }
        for (; j + 16 <= n; j += 16) a0 = op.Combine(a0, Vector512.Load(src + j));
        float total = Across(op.Combine(op.Combine(a0, a1), op.Combine(a2, a3)), op);
        for (; j < n; j++) total = op.Combine(total, src[j]);
        return total;
    }

    // Columns [0, cols) of `axis` rows `stride` apart: blocks of 64 and 16 columns in Vector512
    // accumulators, the last few columns in scalars; every pass walks the rows in memory order.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static unsafe void ReduceColumns<TOp>(float* src, float* dst, int axis, int stride, int cols, TOp op)
        where TOp : struct, IReduceOp
    {
        var id = Vector512.Create(op.Identity);
        int j = 0;
        for (; j + 64 <= cols; j += 64)
        {
            Vector512<float> a0 = id, a1 = id, a2 = id, a3 = id;
            float* p = src + j;
            for (int r = 0; r < axis; r++, p += stride)
            {
                a0 = op.Combine(a0, Vector512.Load(p));
                a1 = op.Combine(a1, Vector512.Load(p + 16));
                a2 = op.Combine(a2, Vector512.Load(p + 32));
                a3 = op.Combine(a3, Vector512.Load(p + 48));
            }
            ReduceStore(a0, dst + j, axis, op);
            ReduceStore(a1, dst + j + 16, axis, op);
            ReduceStore(a2, dst + j + 32, axis, op);
            ReduceStore(a3, dst + j + 48, axis, op);
        }
        for (; j + 16 <= cols; j += 16)
        {
            var a = id;
            float* p = src + j;
            for (int r = 0; r < axis; r++, p += stride) a = op.Combine(a, Vector512.Load(p));
            ReduceStore(a, dst + j, axis, op);
        }
        if (j == cols) return;
        // Fewer than 16 columns left: scalar accumulators, still walking rows in memory order.
        int tail = cols - j;
        float* acc = stackalloc float[16];
        for (int t = 0; t < tail; t++) acc[t] = op.Identity;
        for (int r = 0; r < axis; r++)
        {
            float* p = src + (long)r * stride + j;
            for (int t = 0; t < tail; t++) acc[t] = op.Combine(acc[t], p[t]);
        }
        for (int t = 0; t < tail; t++) dst[j + t] = op.Finish(acc[t], axis);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ReduceStore<TOp>(Vector512<float> a, float* dst, int count, TOp op) where TOp : struct, IReduceOp
    {
        for (int t = 0; t < 16; t++) dst[t] = op.Finish(a.GetElement(t), count);
    }

    private static float Across<TOp>(Vector512<float> v, TOp op) where TOp : struct, IReduceOp
    {
        float total = v.GetElement(0);
        for (int t = 1; t < 16; t++) total = op.Combine(total, v.GetElement(t));
        return total;
    }

    internal static void ReduceBlockPortable<TOp>(ArrayView<float> x, ArrayView<float> y, int outerStart, int outerCount,
        int axis, int inner, int j0, int cols, TOp op) where TOp : struct, IReduceOp
    {
        for (int o = outerStart; o < outerStart + outerCount; o++)
            for (int j = j0; j < j0 + cols; j++)
            {
                float total = op.Identity;
                for (int r = 0; r < axis; r++) total = op.Combine(total, x[(o * axis + r) * inner + j]);
                y[o * inner + j] = op.Finish(total, axis);
            }
    }
}

/// <summary>Sizes and launch blocks of one reduction, passed to the kernel by value (see Reduce.cs).</summary>
internal readonly record struct ReduceGeometry(int Outer, int Axis, int Inner, int RowsPerIndex, int Columns, int ColumnBlocks);
