// A decoded image as 8-bit RGB, interleaved (H, W, 3) row-major: what PIL's Image.convert("RGB") holds
// and what the resize works on. Bytes, not floats: timm's pipeline stays in bytes until ToTensor.
namespace IlgpuVit.Images;

/// <summary>An 8-bit RGB image, pixels (Height, Width, 3) row-major interleaved.</summary>
public sealed class RgbImage
{
    /// <summary>Wraps <paramref name="pixels"/> (not copied).</summary>
    /// <exception cref="ArgumentException">A dimension is below 1 or the pixel count is not Width * Height * 3.</exception>
    public RgbImage(byte[] pixels, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width < 1 || height < 1)
            throw new ArgumentException($"Image size {width} x {height} has a dimension below 1.");
        if (pixels.LongLength != (long)width * height * 3)
            throw new ArgumentException(
                $"A {width} x {height} RGB image needs {(long)width * height * 3} bytes, got {pixels.LongLength}.", nameof(pixels));
        Pixels = pixels;
        Width = width;
        Height = height;
    }

    /// <summary>Pixels per row.</summary>
    public int Width { get; }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Pixels (Height, Width, 3): byte [y, x, c] at (y * Width + x) * 3 + c, channels R, G, B.</summary>
    public byte[] Pixels { get; }
}
