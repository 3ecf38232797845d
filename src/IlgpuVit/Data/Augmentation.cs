// Training-time augmentation, fused with the byte-to-float normalisation so each output pixel is
// written once: torchvision's RandomCrop(size, padding) with zero padding (the pad is byte 0, so it
// normalises to -mean/std), then RandomHorizontalFlip(0.5). Crop offsets and the flip come from the
// caller's deterministic stream, so a batch's augmentation depends only on (seed, epoch, batch).
namespace IlgpuVit.Data;

/// <summary>Random crop with zero padding and random horizontal flip, applied per image.</summary>
public sealed record Augmentation
{
    /// <summary>Creates an augmentation.</summary>
    /// <param name="padding">Zero pixels added on each side before a random crop back to the original size; 0 disables cropping.</param>
    /// <param name="horizontalFlip">Mirror each image left-right with probability 1/2.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padding"/> is negative.</exception>
    public Augmentation(int padding = 0, bool horizontalFlip = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        Padding = padding;
        HorizontalFlip = horizontalFlip;
    }

    /// <summary>No augmentation: images are only normalised.</summary>
    public static Augmentation None { get; } = new();

    /// <summary>Zero pixels added on each side before the random crop.</summary>
    public int Padding { get; }

    /// <summary>Whether each image is mirrored left-right with probability 1/2.</summary>
    public bool HorizontalFlip { get; }

    /// <summary>Draws one image's crop offsets, each in [0, 2 * Padding], and its flip.</summary>
    internal (int Top, int Left, bool Flip) Draw(ref SeedMix random)
    {
        int top = Padding > 0 ? random.Next(2 * Padding + 1) : 0;
        int left = Padding > 0 ? random.Next(2 * Padding + 1) : 0;
        bool flip = HorizontalFlip && random.NextBool();
        return (top, left, flip);
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
