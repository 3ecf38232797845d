// Reader of the IDX format of MNIST and Fashion-MNIST (LeCun et al., http://yann.lecun.com/exdb/mnist/):
// a big-endian header (magic 0x00000803 then count, rows, cols for images; magic 0x00000801 then
// count for labels) followed by one unsigned byte per pixel or label. Files may be gzip-compressed;
// that is detected by the gzip magic 1f 8b, not by the file name. Every error names the file.
using System.Buffers.Binary;
using System.IO.Compression;

namespace IlgpuVit.Data;

/// <summary>Reads IDX image and label files, raw or gzip-compressed.</summary>
public static class Idx
{
    /// <summary>Magic number of an unsigned-byte, rank-3 IDX file (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte, rank-1 IDX file (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an image file: <c>count</c> images of <c>rows</c> x <c>cols</c> bytes, (count, rows, cols) row-major.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">Wrong magic, truncated, trailing bytes, or corrupt gzip.</exception>
    public static (int Count, int Rows, int Cols, byte[] Pixels) ReadImages(string path)
    {
        using var stream = Open(path);
        var header = ReadHeader(stream, path, ImagesMagic, 16);
        int count = header[0], rows = header[1], cols = header[2];
        if (rows < 1 || cols < 1)
            throw new DatasetFormatException(path, $"header declares images of {rows} x {cols} pixels; both must be at least 1.");
        long length = (long)count * rows * cols;
        if (length > Array.MaxLength)
            throw new DatasetFormatException(path, $"header declares {count} images of {rows} x {cols} = {length} bytes, more than one array holds.");
        var pixels = ReadBody(stream, path, length, $"{count} images of {rows} x {cols}");
        return (count, rows, cols, pixels);
    }

    /// <summary>Reads a label file: one byte per image.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="DatasetFormatException">Wrong magic, truncated, trailing bytes, or corrupt gzip.</exception>
    public static byte[] ReadLabels(string path)
    {
        using var stream = Open(path);
        int count = ReadHeader(stream, path, LabelsMagic, 8)[0];
        return ReadBody(stream, path, count, $"{count} labels");
    }

    /// <summary>The file's bytes, decompressed when it starts with the gzip magic 1f 8b.</summary>
    private static Stream Open(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path}: IDX file not found.", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        int read = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        if (read == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
            return new GZipStream(file, CompressionMode.Decompress);
        return file;
    }

    /// <summary>Reads and checks the magic and the dimensions that follow it; returns the dimensions.</summary>
    private static int[] ReadHeader(Stream stream, string path, int expectedMagic, int headerBytes)
    {
        Span<byte> header = stackalloc byte[headerBytes];
        int read = Fill(stream, path, header);
        if (read < 4)
            throw new DatasetFormatException(path, $"truncated: {read} bytes, too short for an IDX header ({headerBytes} bytes).");
        int magic = BinaryPrimitives.ReadInt32BigEndian(header);
        if (magic != expectedMagic)
        {
            string kind = expectedMagic == ImagesMagic ? "image" : "label";
            string hint = magic switch
            {
                ImagesMagic => " (this is an IDX image file)",
                LabelsMagic => " (this is an IDX label file)",
                _ => "",
            };
            throw new DatasetFormatException(path, $"wrong magic number 0x{magic:X8}{hint}; an IDX {kind} file starts with 0x{expectedMagic:X8}.");
        }
        if (read < headerBytes)
            throw new DatasetFormatException(path, $"truncated: {read} bytes, too short for an IDX header ({headerBytes} bytes).");
        var dims = new int[(headerBytes - 4) / 4];
        for (int i = 0; i < dims.Length; i++)
            dims[i] = BinaryPrimitives.ReadInt32BigEndian(header[(4 + 4 * i)..]);
        if (dims[0] < 0)
            throw new DatasetFormatException(path, $"header declares a negative count {dims[0]}.");
        return dims;
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes and checks that nothing follows them.</summary>
    private static byte[] ReadBody(Stream stream, string path, long length, string promise)
    {
        var body = new byte[length];
        int read = Fill(stream, path, body);
        if (read < length)
            throw new DatasetFormatException(path, $"truncated: the header promises {promise} ({length} bytes) but only {read} bytes follow it.");
        Span<byte> extra = stackalloc byte[4096];
        long trailing = 0;
        for (int n; (n = Fill(stream, path, extra)) > 0;) trailing += n;
        if (trailing > 0)
            throw new DatasetFormatException(path, $"{trailing} bytes of trailing garbage after the {promise} the header promises.");
        return body;
    }

    /// <summary>Reads until <paramref name="into"/> is full or the stream ends; gzip errors become format errors naming the file.</summary>
    private static int Fill(Stream stream, string path, Span<byte> into)
    {
        try
        {
            return stream.ReadAtLeast(into, into.Length, throwOnEndOfStream: false);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetFormatException(path, $"corrupt gzip data ({e.Message}).", e);
        }
    }
}
