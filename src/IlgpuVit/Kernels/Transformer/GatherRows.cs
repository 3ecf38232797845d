// Gather and scatter of token rows by index, per image: the data movement of token reduction.
//   GatherRows:  y[b, k, :] = x[b, index[b, k], :]                (keep the tokens Top-K chose)
//   ScatterRows: y[b, index[b, k], :] = (or +=) x[b, k, :]        (put rows back; gradient of gather)
// Conventions: x, y row-major (B, *, C); index (B, K) int. Indices are not range-checked on the host
// (that needs a device-to-host copy); the kernels never touch memory for one outside [0, T):
// gather writes a zero row, scatter skips it.
// Scatter is race-free and deterministic without atomics (atomics misbehave on some OpenCL
// devices): each kernel index owns destination elements and scans index[b, :] in order of k.
// Each kernel index covers `span` channels of a block of rows: whole rows, a block of them, on the
// CPU (Vector512 copies), one channel of one row on GPUs (coalesced accesses, B*K*C threads).
// Source: torch.gather / index_put_(accumulate=True) along the token axis, as ToMe's merge.py uses them.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Gathers token rows: y[b, k, :] = x[b, index[b, k], :] for <paramref name="x"/> (B, T, C),
    /// <paramref name="index"/> (B, K) and <paramref name="y"/> (B, K, C). Indices may repeat.
    /// An index outside [0, T) is not checked on the host (that would need a device-to-host copy);
    /// the kernel writes zeros to that output row instead of reading outside the image.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, T, C), (B, K) and (B, K, C).</exception>
    public static void GatherRows(Tensor<float> x, Tensor<int> index, Tensor<float> y)
    {
        OnOneDevice("GatherRows", x, index, y);
        ShapeMismatchException.Require(x.Shape.Rank == 3 && index.Shape.Rank == 2 && index.Shape[0] == x.Shape[0], "GatherRows",
            $"x has shape {x.Shape} and index {index.Shape}; they need (B, T, C) and (B, K).");
        int batch = x.Shape[0], tokens = x.Shape[1], channels = x.Shape[2], kept = index.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("GatherRows", "y", new Shape(batch, kept, channels), y.Shape);
        LaunchGather(x, index, null, y, accumulate: false);
    }

    /// <summary>
    /// y[b, k, :] = (or +=) w[b, k] · x[b, index[b, k], :] (w = 1 when null), shapes checked by the caller; an index
    /// outside [0, T) gives a zero row (or leaves it). GatherRows and the backward of CombineRows.
    /// </summary>
    internal static void LaunchGather(Tensor<float> x, Tensor<int> index, Tensor<float>? weight, Tensor<float> y, bool accumulate)
    {
        int batch = x.Shape[0], tokens = x.Shape[1], channels = x.Shape[2], kept = index.Shape[1];
        int span = RowSpan(y.Device, channels), rows = batch * kept, block = RowsPerIndex(y.Device, rows);
        var launch = y.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int, int, int, int, int, int>(GatherRowsKernel, group));
        launch(y.Device.Accelerator.DefaultStream, Blocks(rows, block) * Spans(channels, span),
            x.View, index.View, (weight ?? y).View, y.View, tokens, kept, channels, span, rows, block, (weight is null ? 0 : 2) | (accumulate ? 1 : 0));
    }

    /// <summary>
    /// Scatters token rows: y[b, index[b, k], :] = x[b, k, :] for <paramref name="x"/> (B, K, C),
    /// <paramref name="index"/> (B, K) and <paramref name="y"/> (B, T, C); with
    /// <paramref name="accumulate"/>, adds instead (y += , the gradient of <see cref="GatherRows"/>).
    /// Rows of y that no index names keep their contents. Repeated indices: with accumulate every
    /// row is added, in order of k; without, the last k wins, as in a sequential loop. An index
    /// outside [0, T) is skipped (not checked on the host, see <see cref="GatherRows"/>).
    /// x and y must not overlap. Deterministic, without atomics.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, K, C), (B, K) and (B, T, C).</exception>
    public static void ScatterRows(Tensor<float> x, Tensor<int> index, Tensor<float> y, bool accumulate)
    {
        OnOneDevice("ScatterRows", x, index, y);
        ShapeMismatchException.Require(x.Shape.Rank == 3 && y.Shape.Rank == 3, "ScatterRows",
            $"x has shape {x.Shape} and y {y.Shape}; they need (B, K, C) and (B, T, C).");
        int batch = x.Shape[0], kept = x.Shape[1], channels = x.Shape[2], tokens = y.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("ScatterRows", "index", new Shape(batch, kept), index.Shape);
        ShapeMismatchException.Require(y.Shape[0] == batch && y.Shape[2] == channels, "ScatterRows",
            $"y has shape {y.Shape}; x {x.Shape} needs ({batch}, T, {channels}).");
        int span = RowSpan(y.Device, channels), rows = batch * tokens, block = RowsPerIndex(y.Device, rows);
        var launch = y.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int, int, int, int>(ScatterRowsKernel, group));
        launch(y.Device.Accelerator.DefaultStream, Blocks(rows, block) * Spans(channels, span),
            x.View, index.View, y.View, tokens, kept, channels, span, accumulate ? 1 : 0, rows, block);
    }

    // Channels per kernel index: a whole row on the CPU accelerator, one element on GPUs.
    private static int RowSpan(Device device, int channels) =>
        device.UsesCpuFastPath ? channels : 1;

    private static int Spans(int channels, int span) => (channels + span - 1) / span;

    // One index = `span` channels of a block of output rows (b, k). Flags: 1 accumulate, 2 weighted.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GatherRowsKernel(Index1D i, ArrayView<float> x, ArrayView<int> index, ArrayView<float> weight, ArrayView<float> y,
        int tokens, int kept, int channels, int span, int rows, int rowsPerIndex, int flags)
    {
        int spans = (channels + span - 1) / span;
        int first = i / spans * rowsPerIndex, c0 = i % spans * span;
        int n = Math.Min(span, channels - c0);
        for (int row = first; row < Math.Min(rows, first + rowsPerIndex); row++)
        {
            int t = index[row];
            int dst = row * channels + c0;
            if (t >= 0 && t < tokens)
                ScaleRow(x, y, (row / kept * tokens + t) * channels + c0, dst, n, (flags & 2) != 0 ? weight[row] : 1f, flags & 1);
            else if ((flags & 1) == 0)
                for (int c = 0; c < n; c++) y[dst + c] = 0f;
        }
    }

    // One index = `span` channels of a block of destination rows (b, t); it alone writes them, so no races.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ScatterRowsKernel(Index1D i, ArrayView<float> x, ArrayView<int> index, ArrayView<float> y,
        int tokens, int kept, int channels, int span, int accumulate, int rows, int rowsPerIndex)
    {
        int spans = (channels + span - 1) / span;
        int first = i / spans * rowsPerIndex, c0 = i % spans * span;
        int n = Math.Min(span, channels - c0);
        for (int row = first; row < Math.Min(rows, first + rowsPerIndex); row++)
        {
            int b = row / tokens, t = row % tokens;
            int dst = row * channels + c0;
            if (accumulate != 0)
            {
                // Every match, in order of k, so the sum is rounded the same way on every backend.
                for (int k = 0; k < kept; k++)
                    if (index[b * kept + k] == t)
                        ScaleRow(x, y, (b * kept + k) * channels + c0, dst, n, 1f, 1);
            }
            else
            {
                // The last match wins, as in a sequential loop; earlier ones would be overwritten.
                for (int k = kept - 1; k >= 0; k--)
                    if (index[b * kept + k] == t)
                    {
                        ScaleRow(x, y, (b * kept + k) * channels + c0, dst, n, 1f, 0);
                        break;
                    }
            }
        }
    }
}
