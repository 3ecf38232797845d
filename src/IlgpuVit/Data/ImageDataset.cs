// An in-memory labelled image set: bytes (N, C, H, W) row-major planar (each image is C planes of
// H rows of W pixels), one int label per image. Readers (Idx/FashionMnist, Cifar10) produce it and
// the DataLoader consumes it. Subsets share memory with the parent, so Take costs nothing.
namespace IlgpuVit.Data;

/// <summary>Labelled images held in memory as bytes (N, C, H, W) plus labels (N).</summary>
public sealed class ImageDataset
{
    private readonly ReadOnlyMemory<byte> _pixels;
    private readonly ReadOnlyMemory<int> _labels;

    /// <summary>Creates a data set and checks that every length and label agrees.</summary>
    /// <param name="pixels">Images (N, C, H, W) row-major planar, one byte per pixel.</param>
    /// <param name="labels">Class of each image (N), each in [0, <paramref name="classes"/>).</param>
    /// <param name="channels">Planes per image (1 grey, 3 RGB).</param>
    /// <param name="height">Rows per image.</param>
    /// <param name="width">Pixels per row.</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="classNames">Optional name of each class; exactly <paramref name="classes"/> of them.</param>
    /// <exception cref="ArgumentException">A dimension is not positive, the lengths disagree, a label is out of range, or the names do not match the classes.</exception>
    public ImageDataset(ReadOnlyMemory<byte> pixels, ReadOnlyMemory<int> labels, int channels, int height, int width,
        int classes, IReadOnlyList<string>? classNames = null)
    {
        if (channels < 1 || height < 1 || width < 1)
            throw new ArgumentException($"Image shape ({channels}, {height}, {width}) has a dimension below 1.");
        if (classes < 1)
            throw new ArgumentException($"A data set needs at least one class, got {classes}.", nameof(classes));
        if (labels.Length < 1)
            throw new ArgumentException("A data set needs at least one image; the label array is empty.", nameof(labels));
        long imageSize = (long)channels * height * width;
        if (imageSize > int.MaxValue)
            throw new ArgumentException($"Image shape ({channels}, {height}, {width}) is too large.");
        if (pixels.Length != labels.Length * imageSize)
            throw new ArgumentException(
                $"{labels.Length} labels need {labels.Length * imageSize} pixel bytes ({labels.Length} x ({channels}, {height}, {width})), got {pixels.Length}.",
                nameof(pixels));
        var span = labels.Span;
        for (int i = 0; i < span.Length; i++)
            if ((uint)span[i] >= (uint)classes)
                throw new ArgumentException($"Label {span[i]} of image {i} is outside [0, {classes}).", nameof(labels));
        if (classNames is not null && classNames.Count != classes)
            throw new ArgumentException($"{classNames.Count} class names given for {classes} classes.", nameof(classNames));

        _pixels = pixels;
        _labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        Classes = classes;
        ClassNames = classNames;
    }

    /// <summary>Number of images (N).</summary>
    public int Count => _labels.Length;

    /// <summary>Planes per image (C).</summary>
    public int Channels { get; }

    /// <summary>Rows per image (H).</summary>
    public int Height { get; }

    /// <summary>Pixels per row (W).</summary>
    public int Width { get; }

    /// <summary>Bytes per image, C * H * W.</summary>
    public int ImageSize => Channels * Height * Width;

    /// <summary>Number of classes; every label lies in [0, Classes).</summary>
    public int Classes { get; }

    /// <summary>Name of each class, when the data set has them.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>All pixels, (N, C, H, W) row-major planar.</summary>
    public ReadOnlySpan<byte> Pixels => _pixels.Span;

    /// <summary>All labels, (N).</summary>
    public ReadOnlySpan<int> Labels => _labels.Span;

    /// <summary>The pixels of image <paramref name="index"/>, (C, H, W).</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _pixels.Span.Slice(index * ImageSize, ImageSize);
    }

    /// <summary>The first <paramref name="count"/> images, sharing this data set's memory (for quick runs and tests).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is not in [1, Count].</exception>
    public ImageDataset Take(int count)
    {
        if (count < 1 || count > Count)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Take needs a count in [1, {Count}].");
        return new ImageDataset(_pixels[..(count * ImageSize)], _labels[..count], Channels, Height, Width, Classes, ClassNames);
    }

    /// <summary>Label counts per class, (Classes).</summary>
    public int[] ClassHistogram()
    {
        var histogram = new int[Classes];
        foreach (var label in Labels) histogram[label]++;
        return histogram;
    }
}
