// Deterministic sums without atomics, in two stages. A first kernel writes one partial sum per
// block of rows into a scratch tensor (blocks, width); SumPartialsKernel then adds the partials of
// each column in block order. The order of every addition depends on the shapes alone, so results
// repeat bit for bit from run to run (atomics would not, and misbehave on some OpenCL devices), and
// no kernel needs a device-wide barrier. Users: SumRows (bias gradients), LayerNormBackward
// (dgamma, dbeta) and SumOfSquares (gradient norms).
// Geometry: on the CPU a first-stage block holds at least PartialMinElements elements and there are
// at most PartialMaxBlocks blocks (enough to keep every core busy, few enough that the second stage
// is negligible); the second stage covers 64 columns per index with Vector512 accumulators. On GPUs
// a block is PartialGpuRows rows and the second stage is one thread per column (coalesced reads).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>First-stage block sizing (see the file comment).</summary>
    internal const int PartialMaxBlocks = 64, PartialMinElements = 16384, PartialGpuRows = 16;

    /// <summary>Rows per first-stage block for a (rows, cols) input on <paramref name="device"/>.</summary>
    internal static int PartialRowsPerBlock(Device device, int rows, int cols)
    {
        if (!device.UsesCpuFastPath) return Math.Min(rows, PartialGpuRows);
        int byCount = (rows + PartialMaxBlocks - 1) / PartialMaxBlocks;
        int byWork = (PartialMinElements + cols - 1) / cols;
        return Math.Min(rows, Math.Max(byCount, byWork));
    }

    /// <summary>
    /// Second stage: for each column j of <paramref name="partials"/> (blocks, width), the sum over
    /// blocks goes to first[j] when j &lt; <paramref name="split"/>, else to second[j - split];
    /// with <paramref name="accumulate"/> it is added to what is there.
    /// </summary>
    internal static void SumPartials(Device device, ArrayView<float> partials, int blocks, int width,
        ArrayView<float> first, ArrayView<float> second, int split, bool accumulate)
    {
        int span = device.UsesCpuFastPath ? ReduceWidth : 1;
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(SumPartialsKernel, group));
        launch(device.Accelerator.DefaultStream, (width + span - 1) / span, partials, first, second, blocks, width, split, span,
            accumulate ? 1 : 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SumPartialsKernel(Index1D index, ArrayView<float> partials, ArrayView<float> first, ArrayView<float> second,
        int blocks, int width, int split, int span, int accumulate)
    {
        int j0 = index * span;
        SumPartialColumns(partials, first, second, blocks, width, split, j0, Math.Min(span, width - j0), accumulate);
    }

    // Columns [j0, j0 + count) of the partials, count <= ReduceWidth.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(SumPartialColumnsPortable))]
    internal static unsafe void SumPartialColumns(ArrayView<float> partials, ArrayView<float> first, ArrayView<float> second,
        int blocks, int width, int split, int j0, int count, int accumulate)
    {
        float* sums = stackalloc float[ReduceWidth];
        ReduceColumns(FastMath.Address(partials, j0), sums, blocks, width, count, new SumOp());
        for (int t = 0; t < count; t++) StorePartialSum(first, second, split, j0 + t, sums[t], accumulate);
    }

    internal static void SumPartialColumnsPortable(ArrayView<float> partials, ArrayView<float> first, ArrayView<float> second,
        int blocks, int width, int split, int j0, int count, int accumulate)
    {
        for (int j = j0; j < j0 + count; j++)
        {
            float sum = 0f;
            for (int b = 0; b < blocks; b++) sum += partials[b * width + j];
            StorePartialSum(first, second, split, j, sum, accumulate);
        }
    }

    private static void StorePartialSum(ArrayView<float> first, ArrayView<float> second, int split, int j, float sum, int accumulate)
    {
        if (j < split)
            first[j] = accumulate != 0 ? first[j] + sum : sum;
        else
            second[j - split] = accumulate != 0 ? second[j - split] + sum : sum;
    }
}
