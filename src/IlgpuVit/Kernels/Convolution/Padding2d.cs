// Explicit zero (or -inf, for max pooling) padding of a 2-D window op, side by side, and the
// TensorFlow "SAME" rule timm's StdConv2dSame and MaxPool2dSame follow (timm/layers/padding.py,
// get_same_padding / pad_same): the output has ceil(H / s) rows, the total padding is
// max((ceil(H / s) - 1) s + k - H, 0), and an odd total puts the extra row at the bottom (column
// at the right). Symmetric PyTorch padding is the special case Top = Bottom, Left = Right.

namespace IlgpuVit.Kernels;

/// <summary>Rows added above and below, columns added left and right of an image before a window op.</summary>
/// <param name="Top">Rows above.</param>
/// <param name="Bottom">Rows below.</param>
/// <param name="Left">Columns on the left.</param>
/// <param name="Right">Columns on the right.</param>
public readonly record struct Padding2d(int Top, int Bottom, int Left, int Right)
{
    /// <summary>No padding.</summary>
    public static Padding2d None => default;

    /// <summary>The same <paramref name="amount"/> on every side (PyTorch's padding=amount).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="amount"/> is negative.</exception>
    public static Padding2d Symmetric(int amount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amount);
        return new(amount, amount, amount, amount);
    }

    /// <summary>
    /// TensorFlow "SAME" padding for a <paramref name="kernelHeight"/> x <paramref name="kernelWidth"/>
    /// window with <paramref name="stride"/> over a <paramref name="height"/> x <paramref name="width"/>
    /// image: the output is ceil(H / s) x ceil(W / s), the odd extra on the bottom and right.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size or the stride is not positive.</exception>
    public static Padding2d Same(int height, int width, int kernelHeight, int kernelWidth, int stride)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(kernelWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);
        int rows = SameTotal(height, kernelHeight, stride), cols = SameTotal(width, kernelWidth, stride);
        return new(rows / 2, rows - rows / 2, cols / 2, cols - cols / 2);
    }

    private static int SameTotal(int size, int kernel, int stride) =>
        Math.Max(((size + stride - 1) / stride - 1) * stride + kernel - size, 0);

    /// <summary>Whether every side is non-negative.</summary>
    public bool IsValid => Top >= 0 && Bottom >= 0 && Left >= 0 && Right >= 0;
}
