// Writes the images the Images tests read, with SkiaSharp's encoders: RGB, grey and RGBA PNGs (lossless,
// so decoded pixels are exactly the written ones) and JPEGs, from a function of (x, y). Also builds a
// small ImageNet-layout folder with odd sizes, mixed-case extensions, a nested folder and a non-image.
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;
using SkiaSharp;

namespace IlgpuVit.Tests.Images;

public enum ImageKind { Png, Jpeg, GreyPng, GreyJpeg, RgbaPng }

public static class TestImages
{
    /// <summary>Writes a width x height image with pixel (x, y) = colour(x, y) (alpha used by RgbaPng only, R by the grey kinds).</summary>
    public static string Write(string path, int width, int height, Func<int, int, SKColor> colour, ImageKind kind)
    {
        bool grey = kind is ImageKind.GreyPng or ImageKind.GreyJpeg;
        var info = grey
            ? new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque)
            : new SKImageInfo(width, height, SKColorType.Rgba8888, kind == ImageKind.RgbaPng ? SKAlphaType.Unpremul : SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var c = colour(x, y);
                if (grey) { pixels[y * width + x] = c.Red; continue; }
                int at = (y * width + x) * 4;
                (pixels[at], pixels[at + 1], pixels[at + 2]) = (c.Red, c.Green, c.Blue);
                pixels[at + 3] = kind == ImageKind.RgbaPng ? c.Alpha : (byte)255;
            }
        var format = kind is ImageKind.Jpeg or ImageKind.GreyJpeg ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var data = bitmap.Encode(format, 95);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    /// <summary>A solid colour.</summary>
    public static Func<int, int, SKColor> Solid(byte r, byte g, byte b, byte a = 255) => (_, _) => new SKColor(r, g, b, a);

    /// <summary>A colour that differs with position (so resizes and crops are visible), seeded per image.</summary>
    public static Func<int, int, SKColor> Pattern(int seed) =>
        (x, y) => new SKColor((byte)(x * 7 + seed * 31), (byte)(y * 5 + seed * 17), (byte)((x + y) * 3 + seed), (byte)(x * 11 + y));

    /// <summary>
    /// An ImageNet layout of 3 classes. Ordinal order puts "Dog" before "cat"; "zebra" holds mixed-case extensions, a file
    /// that is not an image and a nested folder. Returns the expected (path relative to the root, label) in loader order.
    /// </summary>
    public static IReadOnlyList<(string Path, int Label)> Layout(string root)
    {
        (string Path, int W, int H, ImageKind Kind, int Label)[] images =
        [
            ("Dog/b10.png", 31, 33, ImageKind.Png, 0),      // ordinal: "b10" before "b2"
            ("Dog/b2.jpg", 300, 200, ImageKind.Jpeg, 0),
            ("cat/a.JPG", 199, 257, ImageKind.Jpeg, 1),
            ("cat/c.png", 197, 1, ImageKind.GreyPng, 1),
            ("zebra/more/n.png", 7, 7, ImageKind.Png, 2),   // "zebra/more" sorts after "zebra" itself
            ("zebra/m.jpeg", 33, 31, ImageKind.GreyJpeg, 2),
            ("zebra/p.PNG", 64, 48, ImageKind.RgbaPng, 2),
        ];
        for (int i = 0; i < images.Length; i++)
        {
            var (path, w, h, kind, _) = images[i];
            Write(Path.Combine(root, path), w, h, Pattern(i), kind);
        }
        File.WriteAllText(Path.Combine(root, "zebra", "notes.txt"), "not an image");
        File.WriteAllText(Path.Combine(root, "README"), "files beside the class folders are ignored");
        return
        [
            ("Dog/b10.png", 0), ("Dog/b2.jpg", 0), ("cat/a.JPG", 1), ("cat/c.png", 1),
            ("zebra/m.jpeg", 2), ("zebra/p.PNG", 2), ("zebra/more/n.png", 2),
        ];
    }

    /// <summary>A temporary folder holding <see cref="Layout"/>.</summary>
    public static (TempFolder Temp, IReadOnlyList<(string Path, int Label)> Expected) TempLayout()
    {
        var temp = new TempFolder();
        return (temp, Layout(temp.Path));
    }
}
