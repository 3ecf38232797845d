// Test helpers for the data layer: writers of IDX and CIFAR-10 files in their on-disk formats, and small synthetic data sets whose pixels identify the image.
using System.Buffers.Binary;
using System.IO.Compression;
using IlgpuVit.Data;

namespace IlgpuVit.Tests.Data;

public static class DataFiles
{
    /// <summary>An IDX image file: big-endian magic, count, rows, cols, then the pixels.</summary>
    public static byte[] IdxImages(int count, int rows, int cols, byte[] pixels, int magic = Idx.ImagesMagic)
    {
        var bytes = new byte[16 + pixels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(12), cols);
        pixels.CopyTo(bytes, 16);
        return bytes;
    }

    /// <summary>An IDX label file: big-endian magic, count, then the labels.</summary>
    public static byte[] IdxLabels(byte[] labels, int magic = Idx.LabelsMagic, int? count = null)
    {
        var bytes = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(0), magic);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4), count ?? labels.Length);
        labels.CopyTo(bytes, 8);
        return bytes;
    }

    public static byte[] Gzip(byte[] content)
    {
        using var memory = new MemoryStream();
        using (var gzip = new GZipStream(memory, CompressionLevel.Fastest)) gzip.Write(content);
        return memory.ToArray();
    }

    /// <summary>Writes <paramref name="content"/>, gzip-compressed when asked.</summary>
    public static string Write(string path, byte[] content, bool gzip = false)
    {
        System.IO.File.WriteAllBytes(path, gzip ? Gzip(content) : content);
        return path;
    }

    /// <summary>Deterministic pseudo-random bytes.</summary>
    public static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>CIFAR-10 binary records: for each image its label byte then its 3072 pixel bytes.</summary>
    public static byte[] CifarRecords(byte[] labels, byte[] pixels)
    {
        const int size = Cifar10.RecordSize;
        var bytes = new byte[labels.Length * size];
        for (int i = 0; i < labels.Length; i++)
        {
            bytes[i * size] = labels[i];
            pixels.AsSpan(i * (size - 1), size - 1).CopyTo(bytes.AsSpan(i * size + 1));
        }
        return bytes;
    }

    /// <summary>
    /// <paramref name="count"/> random images (C, H, W) whose label is their index, so a batch's labels say
    /// which images it holds.
    /// </summary>
    public static ImageDataset Indexed(int count, int channels, int height, int width, int seed = 1)
    {
        var pixels = Bytes(seed, count * channels * height * width);
        return new ImageDataset(pixels, Enumerable.Range(0, count).ToArray(), channels, height, width, count);
    }
}
