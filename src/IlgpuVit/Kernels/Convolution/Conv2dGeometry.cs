// The sizes of one 2-D window op over NCHW images (convolution, im2col, max pooling), checked once
// and shared by the launchers: output size (H + top + bottom - k) / s + 1, as torch.nn.functional.conv2d
// after explicit padding.

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

/// <summary>A k_h x k_w window with one stride and explicit padding over (B, C, H, W) images.</summary>
/// <param name="Batch">Images B.</param>
/// <param name="Channels">Input channels C.</param>
/// <param name="Height">Input rows H.</param>
/// <param name="Width">Input columns W.</param>
/// <param name="KernelHeight">Window rows k_h.</param>
/// <param name="KernelWidth">Window columns k_w.</param>
/// <param name="Stride">Step between windows, both axes.</param>
/// <param name="Padding">Padding on each side.</param>
public readonly record struct Conv2dGeometry(int Batch, int Channels, int Height, int Width, int KernelHeight, int KernelWidth,
    int Stride, Padding2d Padding)
{
    /// <summary>Output rows: (H + top + bottom - k_h) / s + 1.</summary>
    public int OutHeight => (Height + Padding.Top + Padding.Bottom - KernelHeight) / Stride + 1;

    /// <summary>Output columns: (W + left + right - k_w) / s + 1.</summary>
    public int OutWidth => (Width + Padding.Left + Padding.Right - KernelWidth) / Stride + 1;

    /// <summary>Output pixels per image and channel, OutHeight x OutWidth.</summary>
    public int OutPixels => OutHeight * OutWidth;

    /// <summary>Elements of one im2col column, C k_h k_w (a conv weight's row length).</summary>
    public int PatchLength => Channels * KernelHeight * KernelWidth;

    /// <summary>A 1x1 window with stride 1 and no padding: the images already are their im2col columns.</summary>
    public bool IsPointwise => KernelHeight == 1 && KernelWidth == 1 && Stride == 1 && Padding == Padding2d.None;

    /// <summary>
    /// The geometry of a window over <paramref name="images"/> (B, C, H, W), checked: positive sizes,
    /// non-negative padding smaller than the window, and at least one output pixel.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The images are not rank 4 or the window does not fit.</exception>
    public static Conv2dGeometry Of(string op, Shape images, int kernelHeight, int kernelWidth, int stride, Padding2d padding)
    {
        ShapeMismatchException.Require(images.Rank == 4, op, $"input has shape {images}; it needs (B, C, H, W).");
        ShapeMismatchException.Require(kernelHeight >= 1 && kernelWidth >= 1 && stride >= 1, op,
            $"the window {kernelHeight}x{kernelWidth} and stride {stride} must be positive.");
        ShapeMismatchException.Require(padding.IsValid && padding.Top < kernelHeight && padding.Bottom < kernelHeight
            && padding.Left < kernelWidth && padding.Right < kernelWidth, op,
            $"padding {padding} must be non-negative and smaller than the {kernelHeight}x{kernelWidth} window on each side.");
        var g = new Conv2dGeometry(images[0], images[1], images[2], images[3], kernelHeight, kernelWidth, stride, padding);
        ShapeMismatchException.Require(g.Height + padding.Top + padding.Bottom >= kernelHeight && g.Width + padding.Left + padding.Right >= kernelWidth, op,
            $"input {images} padded by {padding} is smaller than the {kernelHeight}x{kernelWidth} window.");
        ShapeMismatchException.Require(images.Length <= int.MaxValue && (long)g.Batch * g.PatchLength * g.OutPixels <= int.MaxValue, op,
            $"input {images} with a {kernelHeight}x{kernelWidth} window needs more than 2^31 - 1 elements; split the batch.");
        return g;
    }

    /// <summary>The flat form kernels take.</summary>
    internal WindowArgs Args(int rows, int rowsPerIndex, int accumulate = 0) => new(rows, rowsPerIndex, Channels, Height, Width,
        KernelHeight, KernelWidth, Stride, Padding.Top, Padding.Left, OutHeight, OutWidth, accumulate);
}

/// <summary>A window geometry flattened for kernels (passed by value), with the launch's rows and blocking.</summary>
internal readonly record struct WindowArgs(int Rows, int RowsPerIndex, int Channels, int Height, int Width, int KernelHeight, int KernelWidth,
    int Stride, int PadTop, int PadLeft, int OutHeight, int OutWidth, int Accumulate)
{
    /// <summary>
    /// For kernel column <paramref name="kx"/>, output column ox reads input column ox·stride + shift; the output
    /// columns [lo, hi) are the ones that land inside the image (0 ≤ ox·stride + shift &lt; Width). The CPU bodies
    /// copy or add that run at once and leave the rest to the padding.
    /// </summary>
    internal (int Shift, int Lo, int Hi) InsideRun(int kx)
    {
        int shift = kx - PadLeft;
        int lo = shift >= 0 ? 0 : Math.Min(OutWidth, (-shift + Stride - 1) / Stride);
        int hi = Math.Clamp(Width - shift <= 0 ? 0 : (Width - shift + Stride - 1) / Stride, lo, OutWidth);
        return (shift, lo, hi);
    }
}
