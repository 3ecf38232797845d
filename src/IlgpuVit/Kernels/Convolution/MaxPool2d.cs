// Max pooling over NCHW images with stride and explicit padding whose value is -inf, as timm's
// MaxPool2dSame (F.pad(x, same_padding, value=-inf) then F.max_pool2d): padded positions never win.
// Ties go to the first maximum in window order (row-major), as torch's CPU max_pool2d. The forward
// saves each output's winner as its flat position y W + x within the (b, c) plane (the "argmax").
// The backward is a gather: each input pixel sums dy over the (at most ceil(k/s)^2) windows that
// cover it and chose it, so overlapping 3x3 stride-2 windows need no atomics and stay deterministic.
// dx is OVERWRITTEN unless accumulate. Geometry: a kernel index covers a block of rows
// (Ops.RowsPerIndex): output rows (b, c, oy) forward, input rows (b, c, y) backward.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// y (B, C, OH, OW) = the maximum of each window <paramref name="g"/> over <paramref name="x"/> (B, C, H, W),
    /// with padding at -inf; <paramref name="argmax"/> (y's shape) gets each winner's position y W + x in its plane.
    /// </summary>
    /// <example><code>var g = Conv2dGeometry.Of("stem", x.Shape, 3, 3, 2, Padding2d.Same(h, w, 3, 3, 2)); Ops.MaxPool2d(x, y, argmax, g);</code></example>
    /// <exception cref="ShapeMismatchException">x, y or argmax does not fit g.</exception>
    public static void MaxPool2d(Tensor<float> x, Tensor<float> y, Tensor<int> argmax, Conv2dGeometry g)
    {
        const string op = "MaxPool2d";
        var device = OnOneDevice(op, x, y, argmax);
        var output = new Shape(g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        ShapeMismatchException.ThrowIfDifferent(op, "x", new Shape(g.Batch, g.Channels, g.Height, g.Width), x.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "y", output, y.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "argmax", output, argmax.Shape);
        int rows = g.Batch * g.Channels * g.OutHeight;
        int perIndex = RowsPerIndex(device, rows);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<int>, WindowArgs>(MaxPool2dKernel, group));
        launch(device.Accelerator.DefaultStream, Blocks(rows, perIndex), x.View, y.View, argmax.View, g.Args(rows, perIndex));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxPool2dKernel(Index1D index, ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, WindowArgs a)
    {
        int first = index * a.RowsPerIndex;
        for (int row = first; row < Math.Min(first + a.RowsPerIndex, a.Rows); row++) MaxPool2dRow(x, y, argmax, a, row);
    }

    /// <summary>Output row <paramref name="row"/> = (b, c, oy): each window's maximum and its winner (the portable body over pointers).</summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(MaxPool2dRowPortable))]
    internal static unsafe void MaxPool2dRow(ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, WindowArgs a, int row)
    {
        int oy = row % a.OutHeight;
        float* plane = FastMath.Address(x, (long)(row / a.OutHeight) * a.Height * a.Width);
        float* ys = FastMath.Address(y, (long)row * a.OutWidth);
        int* winners = FastMath.Address(argmax, (long)row * a.OutWidth);
        int y0 = Math.Max(0, oy * a.Stride - a.PadTop), y1 = Math.Min(a.Height, oy * a.Stride - a.PadTop + a.KernelHeight);
        for (int ox = 0; ox < a.OutWidth; ox++)
        {
            int x0 = Math.Max(0, ox * a.Stride - a.PadLeft), x1 = Math.Min(a.Width, ox * a.Stride - a.PadLeft + a.KernelWidth);
            float best = float.NegativeInfinity;
            int winner = -1;
            for (int iy = y0; iy < y1; iy++)
            {
                float* line = plane + iy * a.Width;
                for (int ix = x0; ix < x1; ix++)
                    if (line[ix] > best || winner < 0)      // as the portable body: ties keep the first
                    {
                        best = line[ix];
                        winner = iy * a.Width + ix;
                    }
            }
            ys[ox] = best;
            winners[ox] = winner;
        }
    }

    internal static void MaxPool2dRowPortable(ArrayView<float> x, ArrayView<float> y, ArrayView<int> argmax, WindowArgs a, int row)
    {
        int oy = row % a.OutHeight, plane = row / a.OutHeight * a.Height * a.Width;
        for (int ox = 0; ox < a.OutWidth; ox++)
        {
            float best = float.NegativeInfinity;
            int winner = -1;
            for (int ky = 0; ky < a.KernelHeight; ky++)
            {
                int iy = oy * a.Stride - a.PadTop + ky;
                if (iy < 0 || iy >= a.Height) continue;
                for (int kx = 0; kx < a.KernelWidth; kx++)
                {
                    int ix = ox * a.Stride - a.PadLeft + kx;
                    if (ix < 0 || ix >= a.Width) continue;
                    float v = x[plane + iy * a.Width + ix];
                    // Strictly greater: ties keep the first; winner < 0 takes the first real pixel even if it is -inf.
                    if (v > best || winner < 0)
                    {
                        best = v;
                        winner = iy * a.Width + ix;
                    }
                }
            }
            y[row * a.OutWidth + ox] = best;
            argmax[row * a.OutWidth + ox] = winner;
        }
    }

    /// <summary>
    /// Backward of <see cref="MaxPool2d"/>: <paramref name="dx"/> (B, C, H, W) gets, at each pixel, the sum of
    /// <paramref name="dy"/> (B, C, OH, OW) over the windows whose saved <paramref name="argmax"/> chose it.
    /// dx is overwritten, or added to with <paramref name="accumulate"/>. Deterministic.
    /// </summary>
    /// <exception cref="ShapeMismatchException">dy, argmax or dx does not fit g.</exception>
    public static void MaxPool2dBackward(Tensor<float> dy, Tensor<int> argmax, Tensor<float> dx, Conv2dGeometry g, bool accumulate = false)
    {
        const string op = "MaxPool2dBackward";
        var device = OnOneDevice(op, dy, argmax, dx);
        var output = new Shape(g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        ShapeMismatchException.ThrowIfDifferent(op, "dy", output, dy.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "argmax", output, argmax.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "dx", new Shape(g.Batch, g.Channels, g.Height, g.Width), dx.Shape);
        int rows = g.Batch * g.Channels * g.Height;
        int perIndex = RowsPerIndex(device, rows);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<float>, WindowArgs>(MaxPool2dBackwardKernel, group));
        launch(device.Accelerator.DefaultStream, Blocks(rows, perIndex), dy.View, argmax.View, dx.View, g.Args(rows, perIndex, accumulate ? 1 : 0));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MaxPool2dBackwardKernel(Index1D index, ArrayView<float> dy, ArrayView<int> argmax, ArrayView<float> dx, WindowArgs a)
    {
        int first = index * a.RowsPerIndex, pixels = a.OutHeight * a.OutWidth;
        for (int row = first; row < Math.Min(first + a.RowsPerIndex, a.Rows); row++)
        {
            int iy = row % a.Height, plane = row / a.Height * pixels;
            for (int ix = 0; ix < a.Width; ix++)
            {
                float sum = 0f;
                int me = iy * a.Width + ix;
                for (int ky = 0; ky < a.KernelHeight; ky++)
                {
                    int sy = iy + a.PadTop - ky;
                    if (sy < 0 || sy % a.Stride != 0 || sy / a.Stride >= a.OutHeight) continue;
                    for (int kx = 0; kx < a.KernelWidth; kx++)
                    {
                        int sx = ix + a.PadLeft - kx;
                        if (sx < 0 || sx % a.Stride != 0 || sx / a.Stride >= a.OutWidth) continue;
                        int o = plane + sy / a.Stride * a.OutWidth + sx / a.Stride;
                        if (argmax[o] == me) sum += dy[o];
                    }
                }
                int at = row * a.Width + ix;
                dx[at] = a.Accumulate != 0 ? dx[at] + sum : sum;
            }
        }
    }
}
