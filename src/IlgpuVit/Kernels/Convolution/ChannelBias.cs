// Per-channel maps of NCHW tensors (B, C, ...): adding a channel bias (a convolution's bias, which
// the GEMM's per-column bias cannot express because channels are GEMM rows) and its gradient, the
// per-channel sum over images and pixels. The sum is one kernel index per channel adding in a fixed
// order (images, then pixels), so it is deterministic without atomics.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>y[b, c, ...] = x[b, c, ...] + <paramref name="bias"/>[c] for x (B, C, ...); y may be x.</summary>
    /// <exception cref="ShapeMismatchException">x has rank below 2, bias is not (C), or y's shape differs from x's.</exception>
    public static void AddChannelBias(Tensor<float> x, Tensor<float> bias, Tensor<float> y)
    {
        const string op = "AddChannelBias";
        var device = OnOneDevice(op, x, bias, y);
        var (rows, pixels) = ChannelRows(op, x);
        ShapeMismatchException.ThrowIfDifferent(op, "bias", new Shape(x.Shape[1]), bias.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "y", x.Shape, y.Shape);
        int perIndex = RowsPerIndex(device, rows);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(AddChannelBiasKernel, group));
        launch(device.Accelerator.DefaultStream, Blocks(rows, perIndex), x.View, bias.View, y.View, rows, perIndex, x.Shape[1], pixels);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AddChannelBiasKernel(Index1D index, ArrayView<float> x, ArrayView<float> bias, ArrayView<float> y,
        int rows, int rowsPerIndex, int channels, int pixels)
    {
        int first = index * rowsPerIndex;
        for (int row = first; row < Math.Min(first + rowsPerIndex, rows); row++)
        {
            float v = bias[row % channels];
            for (int p = row * pixels; p < (row + 1) * pixels; p++) y[p] = x[p] + v;
        }
    }

    /// <summary>
    /// <paramref name="sums"/>[c] = Σ_{b, pixels} x[b, c, ...] for x (B, C, ...): the gradient of a channel bias.
    /// Adds to sums with <paramref name="accumulate"/>. Deterministic.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x has rank below 2 or sums is not (C).</exception>
    public static void SumChannels(Tensor<float> x, Tensor<float> sums, bool accumulate)
    {
        const string op = "SumChannels";
        var device = OnOneDevice(op, x, sums);
        var (rows, pixels) = ChannelRows(op, x);
        int channels = x.Shape[1];
        ShapeMismatchException.ThrowIfDifferent(op, "sums", new Shape(channels), sums.Shape);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, int, int>(SumChannelsKernel, group));
        launch(device.Accelerator.DefaultStream, channels, x.View, sums.View, rows / channels, channels, pixels, accumulate ? 1 : 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SumChannelsKernel(Index1D c, ArrayView<float> x, ArrayView<float> sums, int batch, int channels, int pixels, int accumulate)
    {
        float sum = 0f;
        for (int b = 0; b < batch; b++)
        {
            int start = (b * channels + c) * pixels;
            for (int p = start; p < start + pixels; p++) sum += x[p];
        }
        sums[c] = accumulate != 0 ? sums[c] + sum : sum;
    }

    // (B C, pixels) of an NCHW-like tensor (B, C, ...).
    private static (int Rows, int Pixels) ChannelRows(string op, Tensor<float> x)
    {
        ShapeMismatchException.Require(x.Shape.Rank >= 2 && x.Length <= int.MaxValue, op,
            $"x has shape {x.Shape}; it needs (B, C, ...) with fewer than 2^31 elements.");
        int rows = x.Shape[0] * x.Shape[1];
        return (rows, rows == 0 ? 0 : (int)(x.Length / rows));
    }
}
