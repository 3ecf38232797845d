using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Images;
using IlgpuVit.Tests.IO;
using IlgpuVit.Tests.Support;
using SkiaSharp;

namespace IlgpuVit.Tests.Images;

public class ImagePreprocessorTests
{
    [Theory]   // expected values from torchvision 0.14's formulas, evaluated in Python
    [InlineData(300, 200, 248, 224, 372, 248, 74, 12)]
    [InlineData(199, 257, 248, 224, 248, 320, 12, 48)]    // 248 * 257 / 199 = 320.28: truncated
    [InlineData(261, 248, 248, 224, 261, 248, 18, 12)]    // (261 - 224) / 2 = 18.5: half to even, 18
    [InlineData(263, 248, 248, 224, 263, 248, 20, 12)]    // 19.5: half to even, 20
    [InlineData(1000, 333, 248, 224, 744, 248, 260, 12)]
    [InlineData(197, 1, 248, 224, 48856, 248, 24316, 12)]
    [InlineData(7, 5, 1, 1, 1, 1, 0, 0)]
    public void Plans_sizes_and_crop_as_torchvision(int w, int h, int resize, int crop, int rw, int rh, int left, int top) =>
        ImagePreprocessor.Plan(w, h, resize, crop).Should().Be((rw, rh, left, top));

    [Theory]
    [InlineData(199, 257, ImageKind.Png)]     // enlarged
    [InlineData(517, 389, ImageKind.Png)]     // shrunk (antialiased: many taps)
    [InlineData(300, 200, ImageKind.RgbaPng)] // alpha 0 everywhere: the colour still counts
    public void A_solid_colour_normalises_to_the_exact_value(int w, int h, ImageKind kind)
    {
        using var temp = new TempFolder();
        var path = TestImages.Write(temp.File("solid.png"), w, h, TestImages.Solid(200, 100, 51, 0), kind);
        var preprocessor = new ImagePreprocessor(PreprocessOptions.DeiT);
        var output = preprocessor.Preprocess(path);
        output.Length.Should().Be(3 * 224 * 224);
        byte[] colour = [200, 100, 51];
        float[] mean = [0.485f, 0.456f, 0.406f], std = [0.229f, 0.224f, 0.225f];
        for (int c = 0; c < 3; c++)
        {
            // ToTensor then Normalize, in float32 as torchvision does.
            float expected = (colour[c] / 255f - mean[c]) / std[c];
            output.AsSpan(c * 224 * 224, 224 * 224).ToArray().Should().AllSatisfy(v => v.Should().Be(expected));
        }
    }

    [Fact]
    public void AugReg_maps_bytes_to_minus_one_to_one()
    {
        using var temp = new TempFolder();
        var black = new ImagePreprocessor(new PreprocessOptions { ResizeTo = 7, Crop = 7 })
            .Preprocess(TestImages.Write(temp.File("b.png"), 9, 7, TestImages.Solid(0, 255, 0), ImageKind.Png));
        black[..49].Should().AllSatisfy(v => v.Should().Be(-1f));
        black[49..98].Should().AllSatisfy(v => v.Should().Be(1f));
    }

    [Theory]
    [InlineData(260, 18)]   // no resize (short side already 248): the crop is exactly columns [18, 242), rows [12, 236)
    [InlineData(261, 18)]   // 18.5 rounds to even: a crop from 19 would take the background column 242
    [InlineData(263, 20)]   // 19.5 rounds to even: a crop from 19 would take the background column 19
    public void The_crop_is_the_centre(int width, int left)
    {
        using var temp = new TempFolder();
        const int top = 12;
        var path = TestImages.Write(temp.File("c.png"), width, 248,
            (x, y) => x >= left && x < left + 224 && y >= top && y < top + 224 ? new SKColor(250, 10, 20) : new SKColor(0, 0, 255),
            ImageKind.Png);
        var output = new ImagePreprocessor(new PreprocessOptions()).Preprocess(path);
        output[..(224 * 224)].Should().AllSatisfy(v => v.Should().Be((250 / 255f - 0.5f) / 0.5f), "every red value is the patch's");
        output[(2 * 224 * 224)..].Should().AllSatisfy(v => v.Should().Be((20 / 255f - 0.5f) / 0.5f), "no background blue inside the crop");
    }

    [Fact]
    public void The_crop_of_a_resized_image_is_centred()
    {
        // 520 x 496 shrinks by 2 to 260 x 248; the crop starts at (18, 12) there. A 40 x 40 patch centred in the
        // source lands at crop columns and rows [92, 132); the shrink blurs its edges by up to 2 pixels.
        using var temp = new TempFolder();
        var path = TestImages.Write(temp.File("p.png"), 520, 496,
            (x, y) => Math.Abs(x - 259.5) < 40 && Math.Abs(y - 247.5) < 40 ? new SKColor(255, 255, 255) : new SKColor(0, 0, 0),
            ImageKind.Png);
        var red = new ImagePreprocessor(new PreprocessOptions { Normalization = Normalization.Identity(3) }).Preprocess(path)[..(224 * 224)];
        for (int y = 0; y < 224; y++)
            for (int x = 0; x < 224; x++)
            {
                int inside = Math.Max(Math.Abs(2 * x + 1 - 224), Math.Abs(2 * y + 1 - 224));   // twice the distance from the centre
                if (inside < 2 * 20 - 4) red[y * 224 + x].Should().Be(1f, $"({x}, {y}) is inside the patch");
                else if (inside > 2 * 20 + 4) red[y * 224 + x].Should().Be(0f, $"({x}, {y}) is outside the patch");
            }
    }

    [Fact]
    public void Grey_inputs_give_equal_planes_and_odd_crops_have_the_right_shape()
    {
        using var temp = new TempFolder();
        var path = TestImages.Write(temp.File("g.png"), 31, 197, (x, y) => new SKColor((byte)(x * 8), 0, 0), ImageKind.GreyPng);
        var preprocessor = new ImagePreprocessor(new PreprocessOptions { ResizeTo = 40, Crop = 33, Normalization = Normalization.Identity(3) });
        preprocessor.OutputLength.Should().Be(3 * 33 * 33);
        var output = preprocessor.Preprocess(path);
        output.Length.Should().Be(3 * 33 * 33);
        output.AsSpan(33 * 33, 33 * 33).ToArray().Should().Equal(output[..(33 * 33)]);
        output.AsSpan(2 * 33 * 33).ToArray().Should().Equal(output[..(33 * 33)]);
        output.Should().Contain(v => v > 0.5f).And.Contain(v => v < 0.2f);
    }

    [Fact]
    public void A_decoded_image_gives_the_same_input_as_its_file()
    {
        using var temp = new TempFolder();
        var path = TestImages.Write(temp.File("x.jpg"), 199, 257, TestImages.Pattern(4), ImageKind.Jpeg);
        var preprocessor = new ImagePreprocessor(PreprocessOptions.DeiT);
        var fromImage = new float[preprocessor.OutputLength];
        preprocessor.Preprocess(ImageDecoder.Decode(path), fromImage);
        fromImage.Should().Equal(preprocessor.Preprocess(path));
    }

    [Fact]
    public void Bad_options_and_destinations_are_rejected()
    {
        var big = () => new ImagePreprocessor(new PreprocessOptions { ResizeTo = 200, Crop = 224 });
        big.Should().Throw<ArgumentException>().WithMessage("*Crop 224 is larger than the resized short side 200*");
        var zero = () => new ImagePreprocessor(new PreprocessOptions { Crop = 0 });
        zero.Should().Throw<ArgumentException>().WithMessage("*at least 1*");
        var grey = () => new ImagePreprocessor(new PreprocessOptions { Normalization = Normalization.Identity(1) });
        grey.Should().Throw<ArgumentException>().WithMessage("*needs 3 channels; it has 1*");
        var preprocessor = new ImagePreprocessor(new PreprocessOptions { ResizeTo = 9, Crop = 7 });
        var shortDestination = () => preprocessor.Preprocess(new RgbImage(new byte[27], 3, 3), new float[146]);
        shortDestination.Should().Throw<ArgumentException>().WithMessage("*146 floats*(3, 7, 7) image needs 147*");
    }

    [Fact]
    public void Presets_carry_the_published_statistics()
    {
        PreprocessOptions.AugReg.Normalization.Mean.Should().Equal(0.5f, 0.5f, 0.5f);
        PreprocessOptions.AugReg.Normalization.Std.Should().Equal(0.5f, 0.5f, 0.5f);
        PreprocessOptions.DeiT.Normalization.Mean.Should().Equal(0.485f, 0.456f, 0.406f);
        PreprocessOptions.DeiT.Normalization.Std.Should().Equal(0.229f, 0.224f, 0.225f);
        (PreprocessOptions.DeiT.ResizeTo, PreprocessOptions.DeiT.Crop).Should().Be((248, 224));
    }
}
