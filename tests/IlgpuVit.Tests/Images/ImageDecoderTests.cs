using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Images;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;
using SkiaSharp;

namespace IlgpuVit.Tests.Images;

public class ImageDecoderTests
{
    [Fact]
    public void Decodes_an_rgb_png_exactly()
    {
        using var temp = new TempFolder();
        var pattern = TestImages.Pattern(3);
        var image = ImageDecoder.Decode(TestImages.Write(temp.File("x.png"), 31, 7, pattern, ImageKind.Png));
        (image.Width, image.Height).Should().Be((31, 7));
        for (int y = 0; y < 7; y++)
            for (int x = 0; x < 31; x++)
            {
                var c = pattern(x, y);
                image.Pixels.AsSpan((y * 31 + x) * 3, 3).ToArray().Should().Equal(c.Red, c.Green, c.Blue);
            }
    }

    [Fact]
    public void Grey_becomes_three_equal_channels()
    {
        using var temp = new TempFolder();
        foreach (var kind in new[] { ImageKind.GreyPng, ImageKind.GreyJpeg })
        {
            var image = ImageDecoder.Decode(TestImages.Write(temp.File($"g{kind}"), 33, 31, (x, y) => new SKColor((byte)(x * 7), 0, 0), kind));
            var p = image.Pixels;
            for (int i = 0; i < p.Length; i += 3)
                (p[i + 1], p[i + 2]).Should().Be((p[i], p[i]));
            if (kind == ImageKind.GreyPng) p[(5 * 33 + 4) * 3].Should().Be(28);
        }
    }

    [Fact]
    public void Alpha_is_dropped_not_composited()
    {
        // PIL's convert("RGB") keeps the stored colour of a transparent pixel; compositing on black or white would not.
        using var temp = new TempFolder();
        var path = TestImages.Write(temp.File("a.png"), 5, 3, (x, _) => new SKColor(10, 200, 30, (byte)(x * 60)), ImageKind.RgbaPng);
        var p = ImageDecoder.Decode(path).Pixels;
        for (int i = 0; i < p.Length; i += 3)
            (p[i], p[i + 1], p[i + 2]).Should().Be(((byte)10, (byte)200, (byte)30));
    }

    [Fact]
    public void Random_bytes_are_a_format_error_naming_the_file()
    {
        using var temp = new TempFolder();
        var path = temp.File("noise.jpg");
        File.WriteAllBytes(path, TestData.Uniform(5, 3000).Select(v => (byte)(v * 127 + 128)).ToArray());
        var act = () => ImageDecoder.Decode(path);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: is not a JPEG or PNG image*")
            .Which.Path.Should().Be(path);
        var empty = () => ImageDecoder.Decode(ReadOnlySpan<byte>.Empty, "empty.png");
        empty.Should().Throw<DatasetFormatException>().WithMessage("empty.png: *");
    }

    [Theory]
    [InlineData(ImageKind.Png)]
    [InlineData(ImageKind.Jpeg)]
    public void A_truncated_file_is_a_format_error(ImageKind kind)
    {
        using var temp = new TempFolder();
        var path = TestImages.Write(temp.File("t"), 64, 48, TestImages.Pattern(1), kind);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
        var act = () => ImageDecoder.Decode(path);
        act.Should().Throw<DatasetFormatException>().WithMessage($"{path}: is truncated*");
    }

    [Fact]
    public void A_missing_file_is_an_io_error()
    {
        using var temp = new TempFolder();
        var act = () => ImageDecoder.Decode(temp.File("gone.png"));
        act.Should().Throw<FileNotFoundException>().WithMessage("*gone.png*");
    }

    [Fact]
    public void RgbImage_checks_its_size()
    {
        var act = () => new RgbImage(new byte[10], 2, 2);
        act.Should().Throw<ArgumentException>().WithMessage("*needs 12 bytes, got 10*");
        var zero = () => new RgbImage([], 0, 1);
        zero.Should().Throw<ArgumentException>().WithMessage("*below 1*");
    }
}
