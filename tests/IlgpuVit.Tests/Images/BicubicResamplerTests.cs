// The resize against two oracles: a float64 evaluation of its definition (Keys' cubic, a = -0.5,
// stretched when shrinking, weights normalised over the image) on smooth images, and Pillow's own output
// (Fixtures/pil_resize, written by scripts/make_image_fixtures.py) on noise and scenes, which must match
// byte for byte for PNG inputs.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Images;
using IlgpuVit.Tests.Support;
using Xunit.Sdk;

namespace IlgpuVit.Tests.Images;

public class BicubicResamplerTests
{
    [Fact]
    public void Keys_is_the_catmull_rom_cubic()
    {
        BicubicResampler.Keys(0).Should().Be(1);
        BicubicResampler.Keys(1).Should().Be(0);
        BicubicResampler.Keys(-2).Should().Be(0);
        BicubicResampler.Keys(0.5).Should().Be(0.5625);     // (1.5 * 0.25 - 2.5) * 0.25 + 1
        BicubicResampler.Keys(-1.5).Should().Be(-0.0625);   // the negative lobe of a = -0.5
        BicubicResampler.Keys(2.5).Should().Be(0);
    }

    [Theory]
    [InlineData(33, 7, 7, 33)]      // shrink 4.7x in x, enlarge 4.7x in y
    [InlineData(31, 31, 197, 197)]  // enlarge 6.35x
    [InlineData(197, 197, 31, 31)]  // shrink 6.35x: 27 taps
    [InlineData(1, 7, 7, 1)]        // from and to a single pixel
    [InlineData(45, 31, 45, 31)]    // same size: identity
    [InlineData(32, 33, 64, 17)]
    public void Matches_a_float64_evaluation_of_the_definition(int width, int height, int outWidth, int outHeight)
    {
        // A smooth image with steep slopes (period ~9 pixels, amplitude 90), so a shift of a fraction of a pixel shows,
        // kept inside [0, 255] even with the cubic's overshoot.
        var source = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < 3; c++)
                    source[(y * width + x) * 3 + c] = (byte)Math.Round(128 + 90 * Math.Sin(0.7 * x + 0.3 * c) * Math.Cos(0.55 * y - 0.2 * c));
        var actual = new byte[outWidth * outHeight * 3];
        BicubicResampler.Resize(source, width, height, 3, outWidth, outHeight, 0, 0, outWidth, outHeight, actual);

        var wx = ReferenceWeights(width, outWidth);
        var wy = ReferenceWeights(height, outHeight);
        // Each pass rounds to a byte (error <= 0.5); the horizontal pass's error reaches the output through the vertical
        // weights, at most 0.5 * sum |w_y|; fixed-point weights add < 0.01.
        double tolerance = 0.5 + 0.5 * wy.Max(w => w.Sum(Math.Abs)) + 0.01;
        tolerance.Should().BeLessThanOrEqualTo(0.5 + 0.5 * 1.25 + 0.01, "sum |w| of Keys' cubic with a = -0.5 is at most 1.25");
        var expected = new double[actual.Length];
        for (int i = 0; i < outHeight; i++)
            for (int j = 0; j < outWidth; j++)
                for (int c = 0; c < 3; c++)
                {
                    double sum = 0;   // the full 2-D sum over the image, not the separable passes
                    for (int y = 0; y < height; y++)
                        for (int x = 0; x < width; x++)
                            sum += wy[i][y] * wx[j][x] * source[(y * width + x) * 3 + c];
                    expected[(i * outWidth + j) * 3 + c] = sum;
                }
        expected.Should().OnlyContain(v => v > 0 && v < 255, "the test image is chosen so nothing clamps");
        Check.Close(actual.Select(v => (float)v).ToArray(), expected, rtol: 0, atol: tolerance, what: $"{width}x{height} -> {outWidth}x{outHeight}");
        if (width == outWidth && height == outHeight) actual.Should().Equal(source);
    }

    /// <summary>
    /// Weights (out, in) of each output pixel over every source pixel: Keys((i + 0.5 - centre) / s) with centre =
    /// (o + 0.5) * in / out and s = max(in / out, 1), normalised to sum 1.
    /// </summary>
    private static double[][] ReferenceWeights(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize, stretch = Math.Max(scale, 1);
        return Enumerable.Range(0, outSize).Select(o =>
        {
            double centre = (o + 0.5) * scale;
            var w = Enumerable.Range(0, inSize).Select(i => CatmullRom((i + 0.5 - centre) / stretch)).ToArray();
            double total = w.Sum();
            return w.Select(v => v / total).ToArray();
        }).ToArray();
    }

    /// <summary>Keys' cubic with a = -0.5 in its textbook form, (3|x|^3 - 5|x|^2 + 2) / 2 and (-|x|^3 + 5|x|^2 - 8|x| + 4) / 2.</summary>
    private static double CatmullRom(double x)
    {
        x = Math.Abs(x);
        return x < 1 ? (3 * x * x * x - 5 * x * x + 2) / 2 : x < 2 ? (-x * x * x + 5 * x * x - 8 * x + 4) / 2 : 0;
    }

    [Fact]
    public void A_window_equals_the_same_part_of_the_whole_resize()
    {
        var source = TestData.Uniform(7, 61 * 43 * 4).Select(v => (byte)(v * 127 + 128)).ToArray();
        var whole = new byte[97 * 37 * 3];
        BicubicResampler.Resize(source, 61, 43, 4, 97, 37, 0, 0, 97, 37, whole);
        var window = new byte[33 * 31 * 3];
        BicubicResampler.Resize(source, 61, 43, 4, 97, 37, 40, 5, 33, 31, window);
        for (int y = 0; y < 31; y++)
            window.AsSpan(y * 33 * 3, 33 * 3).ToArray().Should().Equal(whole.AsSpan(((5 + y) * 97 + 40) * 3, 33 * 3).ToArray());
        var outside = () => BicubicResampler.Resize(source, 61, 43, 4, 97, 37, 65, 5, 33, 31, window);
        outside.Should().Throw<ArgumentException>().WithMessage("*not inside the 97 x 37 output*");
    }

    public static TheoryData<string> PillowCases() => [.. Manifest().Select(c => c.Input)];

    [Theory]
    [MemberData(nameof(PillowCases))]
    public void Matches_pillow_byte_for_byte(string input)
    {
        var fixture = Manifest().Single(c => c.Input == input);
        var image = ImageDecoder.Decode(Path.Combine(FixtureFolder, fixture.Input));
        var expected = ImageDecoder.Decode(Path.Combine(FixtureFolder, fixture.Expected));
        (expected.Width, expected.Height).Should().Be((fixture.Crop, fixture.Crop));
        var (w, h, left, top) = ImagePreprocessor.Plan(image.Width, image.Height, fixture.ResizeTo, fixture.Crop);
        var actual = new byte[fixture.Crop * fixture.Crop * 3];
        BicubicResampler.Resize(image.Pixels, image.Width, image.Height, 3, w, h, left, top, fixture.Crop, fixture.Crop, actual);

        int differing = 0, largest = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            int d = Math.Abs(actual[i] - expected.Pixels[i]);
            if (d > 0) differing++;
            largest = Math.Max(largest, d);
        }
        if (fixture.Input.EndsWith(".jpg"))
        {
            // Skia's and the system's libjpeg-turbo decode this JPEG to the same bytes here; allow one level for another build.
            largest.Should().BeLessThanOrEqualTo(1, $"{differing} of {actual.Length} bytes differ");
        }
        else if (differing > 0)
            throw new XunitException($"{fixture.Input}: {differing} of {actual.Length} bytes differ from Pillow, by up to {largest}.");
    }

    [Fact]
    public void The_file_path_matches_pillow_after_normalisation()
    {
        var fixture = Manifest().Single(c => c.Input == "scene_517x389.png");
        var preprocessor = new ImagePreprocessor(new PreprocessOptions { ResizeTo = fixture.ResizeTo, Crop = fixture.Crop });
        var output = preprocessor.Preprocess(Path.Combine(FixtureFolder, fixture.Input));
        var expected = ImageDecoder.Decode(Path.Combine(FixtureFolder, fixture.Expected)).Pixels;
        int plane = fixture.Crop * fixture.Crop;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < plane; i++)
                output[c * plane + i].Should().Be((expected[i * 3 + c] / 255f - 0.5f) / 0.5f);
    }

    private static string FixtureFolder => Path.Combine(AppContext.BaseDirectory, "Fixtures", "pil_resize");

    private sealed record PillowCase(string Input, string Expected, int ResizeTo, int Crop);

    private static PillowCase[] Manifest()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureFolder, "manifest.json")));
        return json.RootElement.EnumerateArray().Select(e => new PillowCase(e.GetProperty("input").GetString()!,
            e.GetProperty("expected").GetString()!, e.GetProperty("resize_to").GetInt32(), e.GetProperty("crop").GetInt32())).ToArray();
    }
}
