// Antialiased bicubic resampling of 8-bit RGB, bit-exact with Pillow's Image.resize(size, BICUBIC)
// (Pillow 9, src/libImaging/Resample.c), the resize timm evaluates pretrained ViTs with (torchvision's
// Resize on PIL images). The filter is Keys' cubic with a = -0.5 (Catmull-Rom); when shrinking by a
// factor s > 1 it is stretched by s (support 2s), which is what antialiases. For output pixel x the
// source centre is (x + 0.5) * in / out; the taps are clipped to the image and their weights
// renormalised (no edge replication); weights become 22-bit fixed-point integers; the horizontal pass
// runs first, then the vertical, and each rounds and clamps to a byte.
// Skia's own SKCubicResampler.CatmullRom is the same cubic but keeps its 4 taps when shrinking (no
// antialiasing), so it does not reproduce timm's inputs; hence this managed resampler.
// Only a window of the output is computed (the centre crop): each output pixel depends only on its own
// position, so this gives the same bytes as resizing the whole image and cropping.
using System.Buffers;

namespace IlgpuVit.Images;

/// <summary>Pillow-compatible bicubic resize of RGB bytes, computing a window of the output.</summary>
internal static class BicubicResampler
{
    /// <summary>Fraction bits of the fixed-point weights: 32 bits less 8 for the pixel and 2 of headroom, as Pillow.</summary>
    private const int PrecisionBits = 32 - 8 - 2;

    /// <summary>Half-width of the cubic at scale 1.</summary>
    private const double Support = 2.0;

    /// <summary>Keys' cubic convolution kernel with a = -0.5 (Catmull-Rom), in Pillow's form.</summary>
    internal static double Keys(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /// <summary>
    /// Resizes <paramref name="source"/> (height, width, pixels of <paramref name="pixelStride"/> bytes whose first three
    /// are R, G, B) to (outHeight, outWidth) and writes the window of rows [top, top + cropHeight) and columns
    /// [left, left + cropWidth) to <paramref name="destination"/>, (cropHeight, cropWidth, 3).
    /// </summary>
    internal static void Resize(ReadOnlySpan<byte> source, int width, int height, int pixelStride,
        int outWidth, int outHeight, int left, int top, int cropWidth, int cropHeight, Span<byte> destination)
    {
        if (width < 1 || height < 1 || outWidth < 1 || outHeight < 1 || pixelStride < 3)
            throw new ArgumentException($"Cannot resize {width} x {height} (stride {pixelStride}) to {outWidth} x {outHeight}.");
        if (left < 0 || top < 0 || cropWidth < 1 || cropHeight < 1 || left + cropWidth > outWidth || top + cropHeight > outHeight)
            throw new ArgumentException(
                $"Window {cropWidth} x {cropHeight} at ({left}, {top}) is not inside the {outWidth} x {outHeight} output.");
        if (source.Length < (long)width * height * pixelStride || destination.Length < cropWidth * cropHeight * 3)
            throw new ArgumentException("Source or destination is shorter than the image sizes need.");

        var columns = AxisTaps.Plan(width, outWidth, left, cropWidth);
        var rows = AxisTaps.Plan(height, outHeight, top, cropHeight);
        // Only the source rows the vertical taps of the window read go through the horizontal pass.
        int firstRow = rows.Start[0], rowCount = rows.Start[^1] + rows.Length[^1] - firstRow;
        int rowBytes = cropWidth * 3;
        var rented = ArrayPool<byte>.Shared.Rent(rowCount * rowBytes);
        try
        {
            var between = rented.AsSpan(0, rowCount * rowBytes);
            for (int y = 0; y < rowCount; y++)
                Horizontal(source.Slice((firstRow + y) * width * pixelStride, width * pixelStride), pixelStride, columns,
                    between.Slice(y * rowBytes, rowBytes));
            Vertical(between, rowBytes, firstRow, rows, destination);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>One output row of the window from one source row: out[j, c] = clip8(sum_t w[j, t] row[start_j + t, c]).</summary>
    private static void Horizontal(ReadOnlySpan<byte> row, int pixelStride, AxisTaps taps, Span<byte> output)
    {
        for (int j = 0; j < taps.Count; j++)
        {
            var weights = taps.Weights.AsSpan(j * taps.Stride, taps.Length[j]);
            int offset = taps.Start[j] * pixelStride;
            int r = Half, g = Half, b = Half;
            for (int t = 0; t < weights.Length; t++, offset += pixelStride)
            {
                int w = weights[t];
                r += row[offset] * w;
                g += row[offset + 1] * w;
                b += row[offset + 2] * w;
            }
            output[j * 3] = Clip8(r);
            output[j * 3 + 1] = Clip8(g);
            output[j * 3 + 2] = Clip8(b);
        }
    }

    /// <summary>The window's rows from the horizontally resized rows (which start at source row <paramref name="firstRow"/>).</summary>
    private static void Vertical(ReadOnlySpan<byte> rows, int rowBytes, int firstRow, AxisTaps taps, Span<byte> output)
    {
        for (int i = 0; i < taps.Count; i++)
        {
            var weights = taps.Weights.AsSpan(i * taps.Stride, taps.Length[i]);
            int start = (taps.Start[i] - firstRow) * rowBytes;
            var target = output.Slice(i * rowBytes, rowBytes);
            for (int k = 0; k < rowBytes; k++)
            {
                int sum = Half;
                for (int t = 0, at = start + k; t < weights.Length; t++, at += rowBytes)
                    sum += rows[at] * weights[t];
                target[k] = Clip8(sum);
            }
        }
    }

    /// <summary>Rounding offset: half of one unit of the fixed-point result.</summary>
    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>A fixed-point sum back to a byte: shift, clamped to [0, 255] (Pillow's clip8).</summary>
    private static byte Clip8(int sum) => (byte)Math.Clamp(sum >> PrecisionBits, 0, 255);

    /// <summary>
    /// The taps of output positions [first, first + Count) along one axis resized from inSize to outSize: position j reads
    /// source indices [Start[j], Start[j] + Length[j]) with fixed-point Weights[j * Stride + t] (Pillow's precompute_coeffs
    /// and normalize_coeffs_8bpc).
    /// </summary>
    internal sealed class AxisTaps
    {
        private AxisTaps(int count, int stride)
        {
            Count = count;
            Stride = stride;
            Start = new int[count];
            Length = new int[count];
            Weights = new int[count * stride];
        }

        /// <summary>Output positions planned.</summary>
        internal int Count { get; }

        /// <summary>Room per position in <see cref="Weights"/>: the most taps any position can have.</summary>
        internal int Stride { get; }

        /// <summary>First source index of each position, (Count).</summary>
        internal int[] Start { get; }

        /// <summary>Taps of each position, (Count).</summary>
        internal int[] Length { get; }

        /// <summary>Weights in units of 2^-22, (Count, Stride); each position's sum to about 2^22.</summary>
        internal int[] Weights { get; }

        internal static AxisTaps Plan(int inSize, int outSize, int first, int count)
        {
            double scale = (double)inSize / outSize;
            double filterScale = Math.Max(scale, 1.0);   // stretch the kernel only when shrinking
            double support = Support * filterScale;
            double inverse = 1.0 / filterScale;          // multiplied, not divided, to round as Pillow does
            var taps = new AxisTaps(count, (int)Math.Ceiling(support) * 2 + 1);
            var real = new double[taps.Stride];
            for (int j = 0; j < count; j++)
            {
                double centre = (first + j + 0.5) * scale;
                // (int) truncates toward zero, as Pillow's C casts do.
                int start = Math.Max((int)(centre - support + 0.5), 0);
                int length = Math.Min((int)(centre + support + 0.5), inSize) - start;
                double total = 0;
                for (int t = 0; t < length; t++)
                {
                    real[t] = Keys((t + start - centre + 0.5) * inverse);
                    total += real[t];
                }
                var weights = taps.Weights.AsSpan(j * taps.Stride, length);
                for (int t = 0; t < length; t++)
                {
                    double w = total != 0 ? real[t] / total : real[t];
                    // Round half away from zero into fixed point (Pillow: (int)(+-0.5 + w * 2^22)).
                    weights[t] = (int)(w < 0 ? -0.5 + w * (1 << PrecisionBits) : 0.5 + w * (1 << PrecisionBits));
                }
                taps.Start[j] = start;
                taps.Length[j] = length;
            }
            return taps;
        }
    }
}
