// One mini-batch as the trainer sees it: normalised float images (B, C, H, W) and int labels (B).
// The loader reuses a batch's arrays, so a batch is valid only until the enumerator's next MoveNext;
// call Clone to keep one longer.
namespace IlgpuVit.Data;

/// <summary>A mini-batch: images (Capacity, C, H, W) and labels (Capacity), of which the first Count are filled.</summary>
public sealed class Batch
{
    internal Batch(int capacity, int channels, int height, int width)
    {
        Images = new float[(long)capacity * channels * height * width];
        Labels = new int[capacity];
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

    /// <summary>Images in this batch: the batch size, or fewer for a short last batch.</summary>
    public int Count { get; internal set; }

    /// <summary>Room in the arrays: the loader's batch size.</summary>
    public int Capacity => Labels.Length;

    /// <summary>Planes per image (C).</summary>
    public int Channels { get; }

    /// <summary>Rows per image (H).</summary>
    public int Height { get; }

    /// <summary>Pixels per row (W).</summary>
    public int Width { get; }

    /// <summary>The epoch this batch belongs to.</summary>
    public int Epoch { get; internal set; }

    /// <summary>Position of this batch in its epoch, from 0.</summary>
    public int Index { get; internal set; }

    /// <summary>The filled part of <see cref="Images"/>, (Count, C, H, W).</summary>
    public ReadOnlySpan<float> ImageSpan => Images.AsSpan(0, Count * Channels * Height * Width);

    /// <summary>The filled part of <see cref="Labels"/>, (Count).</summary>
    public ReadOnlySpan<int> LabelSpan => Labels.AsSpan(0, Count);

    /// <summary>A copy that the loader will not overwrite.</summary>
    public Batch Clone()
    {
        var copy = new Batch(Capacity, Channels, Height, Width) { Count = Count, Epoch = Epoch, Index = Index };
        Images.CopyTo(copy.Images, 0);
        Labels.CopyTo(copy.Labels, 0);
        return copy;
    }
}
