// Per-channel normalisation the loader applies while converting bytes to floats:
// out = (byte / 255 - Mean[c]) / Std[c], as torchvision's ToTensor followed by Normalize.
namespace IlgpuVit.Data;

/// <summary>Per-channel mean and standard deviation of pixel values scaled to [0, 1].</summary>
public sealed record Normalization
{
    /// <summary>Creates a normalisation; both arrays have one entry per channel and every Std is positive.</summary>
    /// <exception cref="ArgumentException">The arrays are empty, differ in length, or hold a non-finite value or a Std that is not positive.</exception>
    public Normalization(float[] mean, float[] std)
    {
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalization needs one mean and one std per channel, got {mean.Length} means and {std.Length} stds.");
        for (int c = 0; c < mean.Length; c++)
        {
            if (!float.IsFinite(mean[c]))
                throw new ArgumentException($"Normalization mean of channel {c} is {mean[c]}; it must be finite.", nameof(mean));
            if (!(std[c] > 0) || !float.IsFinite(std[c]))
                throw new ArgumentException($"Normalization std of channel {c} is {std[c]}; it must be positive and finite.", nameof(std));
        }
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>Mean of each channel, (C), in units of byte / 255.</summary>
    public float[] Mean { get; }

    /// <summary>Standard deviation of each channel, (C), in units of byte / 255.</summary>
    public float[] Std { get; }

    /// <summary>Mean 0, std 1 for each of <paramref name="channels"/> channels: the output is byte / 255.</summary>
    public static Normalization Identity(int channels) =>
        new(new float[channels], Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>The per-channel mean and (population) standard deviation of a data set's pixels.</summary>
    /// <exception cref="ArgumentException">A channel is constant, so its std is zero.</exception>
    public static Normalization Compute(ImageDataset dataset)
    {
        int channels = dataset.Channels, plane = dataset.Height * dataset.Width;
        var sum = new long[channels];
        var squares = new long[channels];
        var pixels = dataset.Pixels;
        for (int i = 0; i < dataset.Count; i++)
            for (int c = 0; c < channels; c++)
            {
                // Integer sums are exact: 255^2 * 2^31 pixels fits a long.
                long s = 0, q = 0;
                foreach (byte v in pixels.Slice((i * channels + c) * plane, plane)) { s += v; q += v * v; }
                sum[c] += s;
                squares[c] += q;
            }
        double n = (double)dataset.Count * plane;
        var mean = new float[channels];
        var std = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            double m = sum[c] / n;
            mean[c] = (float)(m / 255);
            std[c] = (float)(Math.Sqrt(Math.Max(0, squares[c] / n - m * m)) / 255);
        }
        return new Normalization(mean, std);
    }

    /// <summary>The byte-to-float table for every channel, (C, 256): entry [c, v] is (v / 255 - Mean[c]) / Std[c].</summary>
    internal float[] Table()
    {
        var table = new float[Mean.Length * 256];
        for (int c = 0; c < Mean.Length; c++)
            for (int v = 0; v < 256; v++)
                table[c * 256 + v] = (v / 255f - Mean[c]) / Std[c];
        return table;
    }
}
