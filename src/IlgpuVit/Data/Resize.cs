// Bilinear resizing of a planar image (C, H, W) to (C, S, S) on the host, as torch's
// F.interpolate(mode='bilinear', align_corners=False) samples: output pixel centres map to
// (o + 0.5) · in / out − 0.5, clamped at the borders. The loader uses it to feed small images to a
// model of another resolution (CIFAR-10 at 224 px for fine-tuning a pretrained ViT, as the paper does).

namespace IlgpuVit.Data;

/// <summary>Bilinear image resizing.</summary>
public static class Resize
{
    /// <summary>Resizes <paramref name="source"/> (C, H, W) into <paramref name="destination"/> (C, size, size).</summary>
    /// <exception cref="ArgumentException">The spans do not hold those shapes.</exception>
    public static void Bilinear(ReadOnlySpan<float> source, int channels, int height, int width, Span<float> destination, int size)
    {
        if (source.Length != channels * height * width || destination.Length != channels * size * size || size < 1)
            throw new ArgumentException($"Resize: source holds {source.Length} values for ({channels}, {height}, {width}) and destination " +
                $"{destination.Length} for ({channels}, {size}, {size}).");
        Span<int> y0 = stackalloc int[size], x0 = stackalloc int[size], y1 = stackalloc int[size], x1 = stackalloc int[size];
        Span<float> fy = stackalloc float[size], fx = stackalloc float[size];
        Taps(height, size, y0, y1, fy);
        Taps(width, size, x0, x1, fx);
        for (int c = 0; c < channels; c++)
        {
            var plane = source.Slice(c * height * width, height * width);
            var output = destination.Slice(c * size * size, size * size);
            for (int i = 0; i < size; i++)
                for (int j = 0; j < size; j++)
                {
                    float top = plane[y0[i] * width + x0[j]] * (1 - fx[j]) + plane[y0[i] * width + x1[j]] * fx[j];
                    float bottom = plane[y1[i] * width + x0[j]] * (1 - fx[j]) + plane[y1[i] * width + x1[j]] * fx[j];
                    output[i * size + j] = top * (1 - fy[i]) + bottom * fy[i];
                }
        }
    }

    // For each output index: the two input indices and the weight of the second (align_corners=False).
    private static void Taps(int input, int output, Span<int> first, Span<int> second, Span<float> weight)
    {
        double scale = (double)input / output;
        for (int o = 0; o < output; o++)
        {
            double position = Math.Max((o + 0.5) * scale - 0.5, 0);
            int lower = Math.Min((int)position, input - 1);
            first[o] = lower;
            second[o] = Math.Min(lower + 1, input - 1);
            weight[o] = (float)(position - lower);
        }
    }
}
