// im2col and its adjoint col2im for convolutions with stride and explicit padding (Caffe's layout,
// caffe/src/caffe/util/im2col.cpp), so a convolution is one GEMM per image:
//   columns[b, (c k_h + ky) k_w + kx, oy OW + ox] = x[b, c, oy s - top + ky, ox s - left + kx]
//   (zero outside the image).
// The column index (c, ky, kx) is the memory order of a conv weight (Cout, C, k_h, k_w), so
// y_b (Cout, OH OW) = W (Cout, C k_h k_w) · columns_b.
// col2im is written as a gather: each input pixel sums the column entries that read it (at most
// ceil(k/s)^2 per channel and kernel offset), so it needs no atomics and is deterministic.
// Geometry: a kernel index covers a block of rows (Ops.RowsPerIndex): im2col rows are
// (b, c, ky, kx) column rows of OH OW elements, col2im rows are (b, c, y) image rows of W elements.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Unfolds <paramref name="images"/> (B, C, H, W) into <paramref name="columns"/> (B, C k_h k_w, OH OW)
    /// for the window <paramref name="g"/> (see the file comment); padded positions are zero.
    /// </summary>
    /// <exception cref="ShapeMismatchException">images is not g's input shape or columns has the wrong shape.</exception>
    public static void Im2Col(Tensor<float> images, Tensor<float> columns, Conv2dGeometry g)
    {
        const string op = "Im2Col";
        var device = OnOneDevice(op, images, columns);
        ShapeMismatchException.ThrowIfDifferent(op, "images", new Shape(g.Batch, g.Channels, g.Height, g.Width), images.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "columns", new Shape(g.Batch, g.PatchLength, g.OutPixels), columns.Shape);
        int rows = g.Batch * g.PatchLength;
        int perIndex = RowsPerIndex(device, rows);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, WindowArgs>(Im2ColKernel, group));
        launch(device.Accelerator.DefaultStream, Blocks(rows, perIndex), images.View, columns.View, g.Args(rows, perIndex));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Im2ColKernel(Index1D index, ArrayView<float> images, ArrayView<float> columns, WindowArgs a)
    {
        int first = index * a.RowsPerIndex;
        for (int row = first; row < Math.Min(first + a.RowsPerIndex, a.Rows); row++) Im2ColRow(images, columns, a, row);
    }

    /// <summary>
    /// Column row <paramref name="row"/> = (b, c, ky, kx): for each output row oy, the input row it reads, taken every
    /// stride pixels from kx − left, zero outside the image. On the CPU each run of inside pixels is one block copy
    /// (stride 1) or one strided loop over pointers.
    /// </summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(Im2ColRowPortable))]
    internal static unsafe void Im2ColRow(ArrayView<float> images, ArrayView<float> columns, WindowArgs a, int row)
    {
        int patch = a.Channels * a.KernelHeight * a.KernelWidth;
        int b = row / patch, k = row % patch;
        int c = k / (a.KernelHeight * a.KernelWidth), ky = k / a.KernelWidth % a.KernelHeight, kx = k % a.KernelWidth;
        float* plane = FastMath.Address(images, (long)(b * a.Channels + c) * a.Height * a.Width);
        float* dst = FastMath.Address(columns, (long)row * a.OutHeight * a.OutWidth);
        var (shift, lo, hi) = a.InsideRun(kx);
        for (int oy = 0; oy < a.OutHeight; oy++, dst += a.OutWidth)
        {
            int y = oy * a.Stride - a.PadTop + ky;
            if (y < 0 || y >= a.Height || lo == hi)
            {
                new Span<float>(dst, a.OutWidth).Clear();
                continue;
            }
            new Span<float>(dst, lo).Clear();
            new Span<float>(dst + hi, a.OutWidth - hi).Clear();
            float* src = plane + (long)y * a.Width + lo * a.Stride + shift;
            if (a.Stride == 1) new ReadOnlySpan<float>(src, hi - lo).CopyTo(new Span<float>(dst + lo, hi - lo));
            else for (int ox = lo; ox < hi; ox++, src += a.Stride) dst[ox] = *src;
        }
    }

    internal static void Im2ColRowPortable(ArrayView<float> images, ArrayView<float> columns, WindowArgs a, int row)
    {
        int pixels = a.OutHeight * a.OutWidth, patch = a.Channels * a.KernelHeight * a.KernelWidth;
        int b = row / patch, k = row % patch;
        int c = k / (a.KernelHeight * a.KernelWidth), ky = k / a.KernelWidth % a.KernelHeight, kx = k % a.KernelWidth;
        int plane = (b * a.Channels + c) * a.Height;
        int dst = row * pixels;
        for (int oy = 0; oy < a.OutHeight; oy++)
        {
            int y = oy * a.Stride - a.PadTop + ky;
            bool rowInside = y >= 0 && y < a.Height;
            for (int ox = 0; ox < a.OutWidth; ox++)
            {
                int x = ox * a.Stride - a.PadLeft + kx;
                columns[dst++] = rowInside && x >= 0 && x < a.Width ? images[(plane + y) * a.Width + x] : 0f;
            }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Im2Col"/>: each pixel of <paramref name="images"/> (B, C, H, W) gets the sum of
    /// the <paramref name="columns"/> (B, C k_h k_w, OH OW) entries that Im2Col copied from it. Overwrites
    /// images, or adds to them with <paramref name="accumulate"/>. Deterministic (a gather, no atomics).
    /// </summary>
    /// <exception cref="ShapeMismatchException">images is not g's input shape or columns has the wrong shape.</exception>
    public static void Col2Im(Tensor<float> columns, Tensor<float> images, Conv2dGeometry g, bool accumulate = false)
    {
        const string op = "Col2Im";
        var device = OnOneDevice(op, columns, images);
        ShapeMismatchException.ThrowIfDifferent(op, "images", new Shape(g.Batch, g.Channels, g.Height, g.Width), images.Shape);
        ShapeMismatchException.ThrowIfDifferent(op, "columns", new Shape(g.Batch, g.PatchLength, g.OutPixels), columns.Shape);
        int rows = g.Batch * g.Channels * g.Height;
        int perIndex = RowsPerIndex(device, rows);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, WindowArgs>(Col2ImKernel, group));
        launch(device.Accelerator.DefaultStream, Blocks(rows, perIndex), columns.View, images.View, g.Args(rows, perIndex, accumulate ? 1 : 0));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Col2ImKernel(Index1D index, ArrayView<float> columns, ArrayView<float> images, WindowArgs a)
    {
        int first = index * a.RowsPerIndex;
        for (int row = first; row < Math.Min(first + a.RowsPerIndex, a.Rows); row++) Col2ImRow(columns, images, a, row);
    }

    /// <summary>
    /// Image row <paramref name="row"/> = (b, c, y): the sum of the column entries that read each of its pixels. On the CPU
    /// each (ky, kx) adds one column row's run into the image row at once (a vector add at stride 1), in the portable body's
    /// (ky, kx) order.
    /// </summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(Col2ImRowPortable))]
    internal static unsafe void Col2ImRow(ArrayView<float> columns, ArrayView<float> images, WindowArgs a, int row)
    {
        int pixels = a.OutHeight * a.OutWidth, window = a.KernelHeight * a.KernelWidth;
        int y = row % a.Height, bc = row / a.Height;
        float* sum = stackalloc float[a.Width];
        new Span<float>(sum, a.Width).Clear();
        for (int ky = 0; ky < a.KernelHeight; ky++)
        {
            int sy = y + a.PadTop - ky;
            if (sy < 0 || sy % a.Stride != 0 || sy / a.Stride >= a.OutHeight) continue;
            for (int kx = 0; kx < a.KernelWidth; kx++)
            {
                var (shift, lo, hi) = a.InsideRun(kx);
                float* src = FastMath.Address(columns, (long)(bc * window + ky * a.KernelWidth + kx) * pixels + sy / a.Stride * a.OutWidth);
                float* dst = sum + shift;
                if (a.Stride == 1)
                {
                    int ox = lo;
                    for (; ox + 16 <= hi; ox += 16) (Vector512.Load(dst + ox) + Vector512.Load(src + ox)).Store(dst + ox);
                    for (; ox < hi; ox++) dst[ox] += src[ox];
                }
                else
                    for (int ox = lo; ox < hi; ox++) dst[ox * a.Stride] += src[ox];
            }
        }
        float* image = FastMath.Address(images, (long)row * a.Width);
        if (a.Accumulate != 0)
            for (int x = 0; x < a.Width; x++) image[x] += sum[x];
        else
            new ReadOnlySpan<float>(sum, a.Width).CopyTo(new Span<float>(image, a.Width));
    }

    internal static void Col2ImRowPortable(ArrayView<float> columns, ArrayView<float> images, WindowArgs a, int row)
    {
        int pixels = a.OutHeight * a.OutWidth, window = a.KernelHeight * a.KernelWidth;
        int y = row % a.Height, bc = row / a.Height;   // bc = b C + c
        for (int x = 0; x < a.Width; x++)
        {
            float sum = 0f;
            for (int ky = 0; ky < a.KernelHeight; ky++)
            {
                // Output row oy reads y through offset ky when oy s - top + ky = y.
                int sy = y + a.PadTop - ky;
                if (sy < 0 || sy % a.Stride != 0 || sy / a.Stride >= a.OutHeight) continue;
                for (int kx = 0; kx < a.KernelWidth; kx++)
                {
                    int sx = x + a.PadLeft - kx;
                    if (sx < 0 || sx % a.Stride != 0 || sx / a.Stride >= a.OutWidth) continue;
                    // bc splits as (b, c); the column row is (b, (c k_h + ky) k_w + kx) = bc window + ky k_w + kx.
                    sum += columns[(bc * window + ky * a.KernelWidth + kx) * pixels + sy / a.Stride * a.OutWidth + sx / a.Stride];
                }
            }
            int at = row * a.Width + x;
            images[at] = a.Accumulate != 0 ? images[at] + sum : sum;
        }
    }
}
