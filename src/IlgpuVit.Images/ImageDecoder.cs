// JPEG and PNG decoding with SkiaSharp (libjpeg-turbo and libpng, as Pillow uses), to RGB the way
// PIL's Image.open(path).convert("RGB") does: grey is replicated to three channels, alpha is dropped
// (not composited), palettes are expanded, and no colour profile is applied (the decode asks for no
// colour space, so Skia converts nothing; Pillow ignores ICC profiles too). EXIF orientation is not
// applied, also as in PIL and timm. Skia decodes to RGBA; the RGB bytes are read with a pixel stride
// of 4, so the loader's path never copies the image into a separate RGB array.
// A file that cannot be decoded, or that ends before its last row (Skia then returns IncompleteInput
// and zero-fills the rest, where Pillow raises "image file is truncated"), is a DatasetFormatException
// whose message is "path: problem".
using System.Buffers;
using IlgpuVit.Data;
using SkiaSharp;

namespace IlgpuVit.Images;

/// <summary>Decodes JPEG and PNG files to 8-bit RGB.</summary>
public static class ImageDecoder
{
    /// <summary>Pillow refuses images above this many pixels as decompression bombs; so does this decoder.</summary>
    public const long MaxPixels = 178_956_970;

    /// <summary>Decodes the image file at <paramref name="path"/>.</summary>
    /// <exception cref="IOException">The file cannot be read (FileNotFoundException and the like).</exception>
    /// <exception cref="DatasetFormatException">The file is not a decodable image, is truncated or corrupt, or is too large.</exception>
    public static RgbImage Decode(string path) => Decode(File.ReadAllBytes(path), path);

    /// <summary>Decodes an encoded image held in memory; <paramref name="name"/> is used in error messages.</summary>
    /// <exception cref="DatasetFormatException">The bytes are not a decodable image, are truncated or corrupt, or the image is too large.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> encoded, string name)
    {
        using var rgba = DecodeRgba(encoded, name);
        var rgb = new byte[(long)rgba.Width * rgba.Height * 3];
        var source = rgba.Pixels;
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = source[i];
            rgb[j + 1] = source[i + 1];
            rgb[j + 2] = source[i + 2];
        }
        return new RgbImage(rgb, rgba.Width, rgba.Height);
    }

    /// <summary>Decodes to RGBA (alpha unpremultiplied, so R, G, B are the stored colours) in a pooled buffer.</summary>
    internal static RgbaPixels DecodeRgba(ReadOnlySpan<byte> encoded, string name)
    {
        using var data = SKData.CreateCopy(encoded);
        // The codec takes ownership of the stream (SkiaSharp revokes the managed handle's), so only the codec is disposed.
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var opened);
        if (codec is null)
            throw new DatasetFormatException(name, opened == SKCodecResult.IncompleteInput
                ? "is truncated: the file ends inside the image header."
                : $"is not a JPEG or PNG image that can be decoded (SkiaSharp: {opened}).");
        int width = codec.Info.Width, height = codec.Info.Height;
        if (width < 1 || height < 1 || (long)width * height > MaxPixels)
            throw new DatasetFormatException(name,
                $"is {width} x {height} pixels; images must have between 1 and {MaxPixels} pixels.");

        // No colour space in the request: Skia decodes the stored values without a colour transform.
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new RgbaPixels(width, height);
        try
        {
            SKCodecResult result;
            unsafe
            {
                fixed (byte* destination = pixels.Pixels) result = codec.GetPixels(info, (IntPtr)destination);
            }
            if (result != SKCodecResult.Success)
                throw new DatasetFormatException(name, result is SKCodecResult.IncompleteInput or SKCodecResult.ErrorInInput
                    ? $"is truncated or corrupt: decoding stopped before the last row (SkiaSharp: {result})."
                    : $"could not be decoded as {codec.EncodedFormat} (SkiaSharp: {result}).");
            return pixels;
        }
        catch
        {
            pixels.Dispose();
            throw;
        }
    }

    /// <summary>Decoded pixels (Height, Width, 4) RGBA in an array rented from the shared pool; Dispose returns it.</summary>
    internal sealed class RgbaPixels : IDisposable
    {
        private byte[]? _rented;

        internal RgbaPixels(int width, int height)
        {
            Width = width;
            Height = height;
            _rented = ArrayPool<byte>.Shared.Rent(width * height * 4);
        }

        internal int Width { get; }

        internal int Height { get; }

        /// <summary>The image, (Height, Width, 4) RGBA; the rented array may be longer.</summary>
        internal Span<byte> Pixels => _rented.AsSpan(0, Width * Height * 4);

        public void Dispose()
        {
            if (_rented is null) return;
            ArrayPool<byte>.Shared.Return(_rented);
            _rented = null;
        }
    }
}
