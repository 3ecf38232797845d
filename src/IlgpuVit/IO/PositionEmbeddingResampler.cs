// Resamples a learned position embedding to another patch grid, as timm does when a checkpoint meets
// a model of another image size (timm.layers.resample_abs_pos_embed): the prefix rows (CLS) are kept,
// the grid rows, seen as a (C, H, W) image, are resized with
// F.interpolate(size=(H', W'), mode='bicubic', align_corners=False, antialias=False), and become rows again.
// The bicubic follows torch's upsample_bicubic2d (aten/src/ATen/native/UpSample.h): source coordinate
// (dst + 0.5) * in / out - 0.5, Keys' cubic convolution with A = -0.75, neighbours clamped to the border.
// (timm >= 0.9 passes antialias=True when it loads a checkpoint, a different, PIL-like filter; this
// follows antialias=False, the older timm behaviour and the one the brief fixes.)
// Host code in float64: it runs once per load, on a few hundred rows.

namespace IlgpuVit.IO;

/// <summary>The height and width of a patch grid, in patches.</summary>
/// <param name="Height">Rows of patches.</param>
/// <param name="Width">Columns of patches.</param>
public readonly record struct PatchGrid(int Height, int Width)
{
    /// <summary>Patches in the grid.</summary>
    public int Count => Height * Width;

    /// <summary>A square grid of <paramref name="side"/> x <paramref name="side"/>.</summary>
    public static PatchGrid Square(int side) => new(side, side);

    /// <summary>"14x14".</summary>
    public override string ToString() => $"{Height}x{Width}";
}

/// <summary>Bicubic resampling of position embeddings (torch's, A = -0.75, align_corners=False).</summary>
public static class PositionEmbeddingResampler
{
    /// <summary>torch's cubic convolution constant.</summary>
    private const double A = -0.75;

    /// <summary>
    /// Resamples <paramref name="embedding"/>, the data of a [1, prefix + H*W, C] position embedding (rows row-major
    /// over the grid), from grid <paramref name="from"/> to grid <paramref name="to"/>; the first
    /// <paramref name="prefixTokens"/> rows are copied unchanged.
    /// </summary>
    /// <returns>The data of the [1, prefix + H'*W', C] embedding.</returns>
    /// <exception cref="ArgumentException">The length does not match the prefix, grid and channel count, or a size is not positive.</exception>
    public static float[] Resample(ReadOnlySpan<float> embedding, int channels, int prefixTokens, PatchGrid from, PatchGrid to)
    {
        if (channels < 1 || prefixTokens < 0 || from.Height < 1 || from.Width < 1 || to.Height < 1 || to.Width < 1)
            throw new ArgumentException($"Resampling needs positive channels and grids and a non-negative prefix; got {channels} channels, prefix {prefixTokens}, grid {from} -> {to}.");
        long expected = (long)(prefixTokens + from.Count) * channels;
        if (embedding.Length != expected)
            throw new ArgumentException($"A position embedding of {prefixTokens} prefix rows, grid {from} and {channels} channels has {expected} values, not {embedding.Length}.", nameof(embedding));
        int prefix = prefixTokens * channels;
        var result = new float[prefix + (long)to.Count * channels];
        embedding[..prefix].CopyTo(result);
        Bicubic(embedding[prefix..], channels, from, to, result.AsSpan(prefix));
        return result;
    }

    /// <summary>
    /// Resizes a channel-last grid <paramref name="source"/> (H, W, C) to <paramref name="destination"/> (H', W', C):
    /// first along the width, then along the height (the 4 x 4 taps of torch's 2-D kernel, factored).
    /// </summary>
    internal static void Bicubic(ReadOnlySpan<float> source, int channels, PatchGrid from, PatchGrid to, Span<float> destination)
    {
        if (source.Length != (long)from.Count * channels || destination.Length != (long)to.Count * channels)
            throw new ArgumentException($"Bicubic {from} -> {to} of {channels} channels needs {from.Count * channels} source and {to.Count * channels} destination values; got {source.Length} and {destination.Length}.");
        var (columns, columnWeights) = Taps(from.Width, to.Width);
        var (rows, rowWeights) = Taps(from.Height, to.Height);

        // Along the width: (H, W, C) -> (H, W', C), kept in float64.
        var wide = new double[(long)from.Height * to.Width * channels];
        for (int y = 0; y < from.Height; y++)
            for (int x = 0; x < to.Width; x++)
                for (int k = 0; k < 4; k++)
                {
                    double w = columnWeights[4 * x + k];
                    int from0 = (y * from.Width + columns[4 * x + k]) * channels, to0 = (y * to.Width + x) * channels;
                    for (int c = 0; c < channels; c++) wide[to0 + c] += w * source[from0 + c];
                }

        // Along the height: (H, W', C) -> (H', W', C).
        var row = new double[(long)to.Width * channels];
        for (int y = 0; y < to.Height; y++)
        {
            Array.Clear(row);
            for (int k = 0; k < 4; k++)
            {
                double w = rowWeights[4 * y + k];
                int from0 = rows[4 * y + k] * to.Width * channels;
                for (int i = 0; i < row.Length; i++) row[i] += w * wide[from0 + i];
            }
            for (int i = 0; i < row.Length; i++) destination[y * row.Length + i] = (float)row[i];
        }
    }

    /// <summary>For each output index along one axis: its 4 source indices (clamped to the border) and their weights.</summary>
    private static (int[] Indices, double[] Weights) Taps(int inputSize, int outputSize)
    {
        var indices = new int[4 * outputSize];
        var weights = new double[4 * outputSize];
        double scale = (double)inputSize / outputSize;   // size given, no scale factor: in / out
        for (int i = 0; i < outputSize; i++)
        {
            // Half-pixel centres; unlike linear modes, cubic does not clamp a negative coordinate to 0.
            double real = scale * (i + 0.5) - 0.5;
            // guard_index_and_lambda: the left neighbour at most the last pixel, t within [0, 1].
            int index = (int)Math.Min(Math.Floor(real), inputSize - 1);
            double t = Math.Clamp(real - index, 0, 1);
            weights[4 * i + 0] = Far(t + 1);
            weights[4 * i + 1] = Near(t);
            weights[4 * i + 2] = Near(1 - t);
            weights[4 * i + 3] = Far(2 - t);
            for (int k = 0; k < 4; k++) indices[4 * i + k] = Math.Clamp(index - 1 + k, 0, inputSize - 1);
        }
        return (indices, weights);
    }

    /// <summary>Keys' kernel for |x| ≤ 1 (torch's cubic_convolution1).</summary>
    private static double Near(double x) => ((A + 2) * x - (A + 3)) * x * x + 1;

    /// <summary>Keys' kernel for 1 &lt; |x| &lt; 2 (torch's cubic_convolution2).</summary>
    private static double Far(double x) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}
