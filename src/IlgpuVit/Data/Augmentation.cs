// Training-time augmentation, fused with the byte-to-float normalisation so each output pixel is
// written once: torchvision's RandomCrop(size, padding) with zero padding (the pad is byte 0, so it
// normalises to -mean/std), then RandomHorizontalFlip(0.5), then optionally RandomErasing (a rectangle
// of 2-33% of the image, aspect 0.3-3.3, set to 0 after normalisation: the data set's mean pixel;
// docs/runs.md, "Augmentation"). Crop offsets, the flip and the erased rectangle come from the caller's
// deterministic stream, so a batch's augmentation depends only on (seed, epoch, batch); with erasing
// off nothing more is drawn, so runs without it keep their exact streams.
namespace IlgpuVit.Data;

/// <summary>Random crop with zero padding, random horizontal flip and random erasing, applied per image.</summary>
public sealed record Augmentation
{
    // torchvision's RandomErasing defaults: the erased area's share of the image and its aspect ratio (log-uniform).
    private const double MinArea = 0.02, MaxArea = 1.0 / 3, MinAspect = 0.3, MaxAspect = 1 / 0.3;

    /// <summary>Creates an augmentation.</summary>
    /// <param name="padding">Zero pixels added on each side before a random crop back to the original size; 0 disables cropping.</param>
    /// <param name="horizontalFlip">Mirror each image left-right with probability 1/2.</param>
    /// <param name="erasing">Probability of erasing one random rectangle of each image (set to the mean pixel); 0 disables it.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padding"/> is negative or <paramref name="erasing"/> lies outside [0, 1].</exception>
    public Augmentation(int padding = 0, bool horizontalFlip = false, double erasing = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (!(erasing is >= 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(erasing), erasing, "The random-erasing probability must lie in [0, 1].");
        Padding = padding;
        HorizontalFlip = horizontalFlip;
        Erasing = erasing;
    }

    /// <summary>No augmentation: images are only normalised.</summary>
    public static Augmentation None { get; } = new();

    /// <summary>Zero pixels added on each side before the random crop.</summary>
    public int Padding { get; }

    /// <summary>Whether each image is mirrored left-right with probability 1/2.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>Probability of erasing a random rectangle of each image.</summary>
    public double Erasing { get; }

    /// <summary>Draws one image's crop offsets, each in [0, 2 * Padding], and its flip.</summary>
    internal (int Top, int Left, bool Flip) Draw(ref SeedMix random)
    {
        int top = Padding > 0 ? random.Next(2 * Padding + 1) : 0;
        int left = Padding > 0 ? random.Next(2 * Padding + 1) : 0;
        bool flip = HorizontalFlip && random.NextBool();
        return (top, left, flip);
    }

    /// <summary>
    /// Draws the rectangle to erase in a <paramref name="height"/> x <paramref name="width"/> image, or an empty one (with
    /// probability 1 − <see cref="Erasing"/>, or when ten tries found no rectangle that fits, as torchvision does).
    /// </summary>
    internal ErasedRectangle DrawErasing(ref SeedMix random, int height, int width)
    {
        if (Erasing == 0 || random.NextDouble() >= Erasing) return default;
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double area = height * width * (MinArea + (MaxArea - MinArea) * random.NextDouble());
            double aspect = Math.Exp(Math.Log(MinAspect) + (Math.Log(MaxAspect) - Math.Log(MinAspect)) * random.NextDouble());
            int h = (int)Math.Round(Math.Sqrt(area * aspect)), w = (int)Math.Round(Math.Sqrt(area / aspect));
            if (h < 1 || w < 1 || h >= height || w >= width) continue;
            return new ErasedRectangle(random.Next(height - h + 1), random.Next(width - w + 1), h, w);
        }
        return default;
    }

    /// <summary>Sets <paramref name="rectangle"/> of every channel of the normalised image (C, H, W) to 0, the mean pixel.</summary>
    internal static void Erase(Span<float> image, int channels, int height, int width, ErasedRectangle rectangle)
    {
        for (int c = 0; c < channels; c++)
            for (int y = rectangle.Top; y < rectangle.Top + rectangle.Height; y++)
                image.Slice((c * height + y) * width + rectangle.Left, rectangle.Width).Clear();
    }

    /// <summary>
    /// Writes one normalised image (C, H, W): out[c, y, x] = table[c, padded[c, y + top, x' + left]] with
    /// x' = W - 1 - x when flipped, where padded is the image with <paramref name="padding"/> zeros on every side.
    /// </summary>
    /// <param name="image">Source bytes (C, H, W).</param>
    /// <param name="output">Destination floats (C, H, W).</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="padding">Zeros on each side of the padded image.</param>
    /// <param name="top">Crop row offset in the padded image, [0, 2 * padding].</param>
    /// <param name="left">Crop column offset in the padded image, [0, 2 * padding].</param>
    /// <param name="flip">Mirror the crop left-right.</param>
    /// <param name="table">Byte-to-float table (C, 256) from <see cref="Normalization.Table"/>.</param>
    internal static void Apply(ReadOnlySpan<byte> image, Span<float> output, int channels, int height, int width,
        int padding, int top, int left, bool flip, ReadOnlySpan<float> table)
    {
        int shift = left - padding;
        // Output columns whose source column lies inside the image; the rest are padding.
        int x0 = flip ? Math.Max(0, shift) : Math.Max(0, -shift);
        int x1 = flip ? Math.Min(width, width + shift) : Math.Min(width, width - shift);
        for (int c = 0; c < channels; c++)
        {
            var lut = table.Slice(c * 256, 256);
            float pad = lut[0];
            for (int y = 0; y < height; y++)
            {
                var row = output.Slice((c * height + y) * width, width);
                int sy = y + top - padding;
                if (sy < 0 || sy >= height || x0 >= x1)
                {
                    row.Fill(pad);
                    continue;
                }
                var source = image.Slice((c * height + sy) * width, width);
                row[..x0].Fill(pad);
                row[x1..].Fill(pad);
                if (flip)
                    for (int x = x0, sx = width - 1 - x0 + shift; x < x1; x++, sx--) row[x] = lut[source[sx]];
                else
                    for (int x = x0, sx = x0 + shift; x < x1; x++, sx++) row[x] = lut[source[sx]];
            }
        }
    }
}

/// <summary>A rectangle of an image to erase; Height 0 erases nothing.</summary>
internal readonly record struct ErasedRectangle(int Top, int Left, int Height, int Width);
