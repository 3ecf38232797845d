// One mini-batch as a model sees it: normalised float images (B, C, H, W) and int labels (B), and, for
// images read from files, the file of each. Every loader fills this one type (DataLoader for in-memory
// data sets, IlgpuVit.Images' ImageFolderLoader for image folders, or a program's own), so one
// evaluation loop (Training.Evaluation) serves them all. Loaders reuse a batch's arrays, so a batch is
// valid only until the enumerator's next MoveNext; call Clone to keep one longer.
namespace IlgpuVit.Data;

/// <summary>A mini-batch: images (Capacity, C, H, W) and labels (Capacity), of which the first Count are filled.</summary>
public sealed class Batch
{
    private int _count;

    /// <summary>Creates an empty batch (Count 0) with room for <paramref name="capacity"/> images of (C, H, W).</summary>
    /// <param name="capacity">Room in the arrays: the loader's batch size.</param>
    /// <param name="channels">Planes per image (C).</param>
    /// <param name="height">Rows per image (H).</param>
    /// <param name="width">Pixels per row (W).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is below 1.</exception>
    public Batch(int capacity, int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        Images = new float[(long)capacity * channels * height * width];
        Labels = new int[capacity];
        Paths = new string[capacity];
        Array.Fill(Paths, string.Empty);
        Channels = channels;
        Height = height;
        Width = width;
    }

    /// <summary>
    /// Normalised images (Capacity, C, H, W) row-major planar. The first <see cref="Count"/> images are this
    /// batch; in a short last batch the rest are zero.
    /// </summary>
    public float[] Images { get; }

    /// <summary>Class labels (Capacity); the first <see cref="Count"/> are this batch, the rest zero.</summary>
    public int[] Labels { get; }

    /// <summary>
    /// The file each image came from (Capacity), for batches read from files; the first <see cref="Count"/> are this batch,
    /// the rest empty. All empty for images held in memory (<see cref="DataLoader"/>).
    /// </summary>
    public string[] Paths { get; }

    /// <summary>Images in this batch: the batch size, or fewer for a short last batch. Set by the loader that fills it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Set outside [0, Capacity].</exception>
    public int Count
    {
        get => _count;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Capacity);
            _count = value;
        }
    }

    /// <summary>Room in the arrays: the loader's batch size.</summary>
    public int Capacity => Labels.Length;

    /// <summary>Planes per image (C).</summary>
    public int Channels { get; }

    /// <summary>Rows per image (H).</summary>
    public int Height { get; }

    /// <summary>Pixels per row (W).</summary>
    public int Width { get; }

    /// <summary>Floats per image, C * H * W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>The epoch this batch belongs to (0 for a single pass).</summary>
    public int Epoch { get; set; }

    /// <summary>Position of this batch in its epoch or pass, from 0.</summary>
    public int Index { get; set; }

    /// <summary>The filled part of <see cref="Images"/>, (Count, C, H, W).</summary>
    public ReadOnlySpan<float> ImageSpan => Images.AsSpan(0, Count * ImageSize);

    /// <summary>The filled part of <see cref="Labels"/>, (Count).</summary>
    public ReadOnlySpan<int> LabelSpan => Labels.AsSpan(0, Count);

    /// <summary>Image <paramref name="index"/> of the batch, (C, H, W), filled or not.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Capacity).</exception>
    public Span<float> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Capacity, nameof(index));
        return Images.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>A copy that the loader will not overwrite.</summary>
    public Batch Clone()
    {
        var copy = new Batch(Capacity, Channels, Height, Width) { Count = Count, Epoch = Epoch, Index = Index };
        Images.CopyTo(copy.Images, 0);
        Labels.CopyTo(copy.Labels, 0);
        Paths.CopyTo(copy.Paths, 0);
        return copy;
    }
}
