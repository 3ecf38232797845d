// One mini-batch from an ImageFolderLoader: normalised images (B, 3, H, W), labels (B) and the file of
// each image, as IlgpuVit.Data.Batch lays them out (that type's constructor is internal to the core
// library, hence this one). The loader reuses a batch's arrays: a batch is valid until the enumerator's
// next MoveNext; Clone keeps one longer.
namespace IlgpuVit.Images;

/// <summary>A mini-batch: images (Capacity, 3, H, W), labels and paths (Capacity), of which the first Count are filled.</summary>
public sealed class ImageBatch
{
    internal ImageBatch(int capacity, int height, int width)
    {
        Images = new float[(long)capacity * Channels * height * width];
        Labels = new int[capacity];
        Paths = new string[capacity];
        Height = height;
        Width = width;
    }

    /// <summary>Normalised images (Capacity, 3, H, W) row-major planar; in a short last batch the images past Count are zero.</summary>
    public float[] Images { get; }

    /// <summary>Class labels (Capacity); the first <see cref="Count"/> are this batch, the rest zero.</summary>
    public int[] Labels { get; }

    /// <summary>The file each image came from (Capacity); the first <see cref="Count"/> are this batch, the rest empty.</summary>
    public string[] Paths { get; }

    /// <summary>Images in this batch: the batch size, or fewer for the last batch.</summary>
    public int Count { get; internal set; }

    /// <summary>Room in the arrays: the loader's batch size.</summary>
    public int Capacity => Labels.Length;

    /// <summary>Planes per image (C): always 3, R, G, B.</summary>
    public int Channels => 3;

    /// <summary>Rows per image (H): the crop size.</summary>
    public int Height { get; }

    /// <summary>Pixels per row (W): the crop size.</summary>
    public int Width { get; }

    /// <summary>Position of this batch in its pass over the folder, from 0.</summary>
    public int Index { get; internal set; }

    /// <summary>Floats per image, 3 * H * W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>The filled part of <see cref="Images"/>, (Count, 3, H, W).</summary>
    public ReadOnlySpan<float> ImageSpan => Images.AsSpan(0, Count * ImageSize);

    /// <summary>The filled part of <see cref="Labels"/>, (Count).</summary>
    public ReadOnlySpan<int> LabelSpan => Labels.AsSpan(0, Count);

    /// <summary>Image <paramref name="index"/> of the batch, (3, H, W).</summary>
    public Span<float> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Capacity, nameof(index));
        return Images.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>A copy that the loader will not overwrite.</summary>
    public ImageBatch Clone()
    {
        var copy = new ImageBatch(Capacity, Height, Width) { Count = Count, Index = Index };
        Images.CopyTo(copy.Images, 0);
        Labels.CopyTo(copy.Labels, 0);
        Paths.CopyTo(copy.Paths, 0);
        return copy;
    }
}
