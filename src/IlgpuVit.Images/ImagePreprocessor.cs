// Turns an image into a model input the way timm evaluates pretrained ViTs (PIL path): RGB, resize
// the short side to ResizeTo with Pillow's antialiased bicubic (Keys a = -0.5, see BicubicResampler),
// centre crop Crop x Crop, then ToTensor and Normalize: out[c, y, x] = (byte / 255 - mean[c]) / std[c]
// in float32, planar (3, Crop, Crop). Sizes follow torchvision 0.14: the long side becomes
// int(ResizeTo * long / short) (truncated), and the crop starts at round((size - Crop) / 2) with round
// half to even, as Python's round. Safe to call from several threads at once.
using System.Buffers;
using IlgpuVit.Data;

namespace IlgpuVit.Images;

/// <summary>Decodes, resizes, centre-crops and normalises images to float (3, Crop, Crop).</summary>
public sealed class ImagePreprocessor
{
    /// <summary>Byte-to-float table per channel, (3, 256): [c, v] = (v / 255 - mean[c]) / std[c].</summary>
    private readonly float[] _table = new float[3 * 256];

    /// <summary>Creates a preprocessor for <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentException">A size is below 1, the crop is larger than the resize, or the normalisation is not for 3 channels.</exception>
    public ImagePreprocessor(PreprocessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Normalization, nameof(options));
        if (options.Crop < 1 || options.ResizeTo < 0)
            throw new ArgumentException($"Resize {options.ResizeTo} must be at least 0 (0: no resize) and crop {options.Crop} at least 1.", nameof(options));
        if (options.ResizeTo > 0 && options.Crop > options.ResizeTo)
            throw new ArgumentException(
                $"Crop {options.Crop} is larger than the resized short side {options.ResizeTo}; the crop must fit inside.", nameof(options));
        var normalization = options.Normalization;
        if (normalization.Mean.Length != 3)
            throw new ArgumentException(
                $"Images are RGB, so the normalisation needs 3 channels; it has {normalization.Mean.Length}.", nameof(options));
        Options = options;
        for (int c = 0; c < 3; c++)
            for (int v = 0; v < 256; v++)
                _table[c * 256 + v] = (v / 255f - normalization.Mean[c]) / normalization.Std[c];
    }

    /// <summary>The settings.</summary>
    public PreprocessOptions Options { get; }

    /// <summary>Floats per output image, 3 * Crop * Crop.</summary>
    public int OutputLength => 3 * Options.Crop * Options.Crop;

    /// <summary>Decodes the file at <paramref name="path"/> and returns its model input, (3, Crop, Crop).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="DatasetFormatException">The file is not a decodable image, or is truncated or corrupt.</exception>
    public float[] Preprocess(string path)
    {
        var output = new float[OutputLength];
        Preprocess(path, output);
        return output;
    }

    /// <summary>Decodes the file at <paramref name="path"/> and writes its model input to <paramref name="destination"/>, (3, Crop, Crop).</summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="DatasetFormatException">The file is not a decodable image, or is truncated or corrupt.</exception>
    public void Preprocess(string path, Span<float> destination)
    {
        CheckDestination(destination);
        using var rgba = ImageDecoder.DecodeRgba(File.ReadAllBytes(path), path);
        if (TooSmall(rgba.Width, rgba.Height) is { } problem) throw new DatasetFormatException(path, problem);
        Transform(rgba.Pixels, rgba.Width, rgba.Height, pixelStride: 4, destination);
    }

    /// <summary>Writes the model input of a decoded image to <paramref name="destination"/>, (3, Crop, Crop).</summary>
    public void Preprocess(RgbImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckDestination(destination);
        if (TooSmall(image.Width, image.Height) is { } problem) throw new ArgumentException($"The image {problem}", nameof(image));
        Transform(image.Pixels, image.Width, image.Height, pixelStride: 3, destination);
    }

    /// <summary>
    /// Where a width x height image goes: its resized size (short side <paramref name="resizeTo"/>, long side
    /// int(resizeTo * long / short)) and the top-left corner of the centred crop in it.
    /// </summary>
    internal static (int Width, int Height, int Left, int Top) Plan(int width, int height, int resizeTo, int crop)
    {
        if (resizeTo == 0) return (width, height, (int)Math.Round((width - crop) / 2.0), (int)Math.Round((height - crop) / 2.0));
        int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
        // Python's int(a * b / c): the true quotient rounded to double, then truncated.
        int longResized = (int)((double)resizeTo * longSide / shortSide);
        var (w, h) = width <= height ? (resizeTo, longResized) : (longResized, resizeTo);
        // Math.Round's default, half to even, is Python 3's round.
        return (w, h, (int)Math.Round((w - crop) / 2.0), (int)Math.Round((h - crop) / 2.0));
    }

    private void Transform(ReadOnlySpan<byte> pixels, int width, int height, int pixelStride, Span<float> destination)
    {
        int crop = Options.Crop, plane = crop * crop;
        var (w, h, left, top) = Plan(width, height, Options.ResizeTo, crop);
        var rented = ArrayPool<byte>.Shared.Rent(plane * 3);
        try
        {
            var window = rented.AsSpan(0, plane * 3);
            if (Options.ResizeTo == 0) Copy(pixels, width, pixelStride, left, top, crop, window);
            else BicubicResampler.Resize(pixels, width, height, pixelStride, w, h, left, top, crop, crop, window);
            // (Crop, Crop, 3) bytes to planar (3, Crop, Crop) floats through the normalisation table.
            for (int i = 0; i < plane; i++)
            {
                destination[i] = _table[window[i * 3]];
                destination[plane + i] = _table[256 + window[i * 3 + 1]];
                destination[2 * plane + i] = _table[512 + window[i * 3 + 2]];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The crop x crop window at (left, top) of an image <paramref name="width"/> wide, as (crop, crop, 3) bytes: no resampling.</summary>
    private static void Copy(ReadOnlySpan<byte> pixels, int width, int pixelStride, int left, int top, int crop, Span<byte> window)
    {
        for (int y = 0; y < crop; y++)
            for (int x = 0; x < crop; x++)
            {
                int from = ((top + y) * width + left + x) * pixelStride, to = (y * crop + x) * 3;
                window[to] = pixels[from];
                window[to + 1] = pixels[from + 1];
                window[to + 2] = pixels[from + 2];
            }
    }

    /// <summary>Why a width x height image cannot be cropped without resizing; null when it can (or is resized).</summary>
    private string? TooSmall(int width, int height) =>
        Options.ResizeTo == 0 && (width < Options.Crop || height < Options.Crop)
            ? $"is {width}x{height}, smaller than the {Options.Crop}x{Options.Crop} crop, and resizing is off (resize 0): resize it, or give a resize."
            : null;

    private void CheckDestination(Span<float> destination)
    {
        if (destination.Length != OutputLength)
            throw new ArgumentException(
                $"Destination holds {destination.Length} floats; a (3, {Options.Crop}, {Options.Crop}) image needs {OutputLength}.",
                nameof(destination));
    }
}
