using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Data;

public class AugmentationTests
{
    private static readonly float[] Identity = Normalization.Identity(3).Table();

    /// <summary>The definition: zero-pad by p, crop H x W at (top, left), mirror if asked, then scale by 1/255.</summary>
    public static double[] Reference(byte[] image, int channels, int height, int width, int padding, int top, int left, bool flip,
        float[]? mean = null, float[]? std = null)
    {
        var output = new double[channels * height * width];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int px = (flip ? width - 1 - x : x) + left, py = y + top;   // position in the padded image
                    int sy = py - padding, sx = px - padding;
                    int value = sy >= 0 && sy < height && sx >= 0 && sx < width ? image[(c * height + sy) * width + sx] : 0;
                    output[(c * height + y) * width + x] = (value / 255.0 - (mean?[c] ?? 0)) / (std?[c] ?? 1);
                }
        return output;
    }

    private static float[] Apply(byte[] image, int channels, int height, int width, int padding, int top, int left, bool flip, float[]? table = null)
    {
        var output = new float[image.Length];
        Array.Fill(output, float.NaN);   // every pixel must be written
        Augmentation.Apply(image, output, channels, height, width, padding, top, left, flip, table ?? Identity);
        return output;
    }

    [Fact]
    public void Flip_mirrors_each_row()
    {
        byte[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];   // 1 x 3 x 4
        var output = Apply(image, 1, 3, 4, padding: 0, top: 0, left: 0, flip: true);
        output.Select(v => (int)MathF.Round(v * 255)).Should().Equal(4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9);
    }

    [Fact]
    public void Crop_with_padding_shifts_and_fills_zeros()
    {
        byte[] image = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];   // 1 x 3 x 4
        // Crop at the padded image's corner: the content moves one pixel down and right.
        Apply(image, 1, 3, 4, padding: 1, top: 0, left: 0, flip: false).Select(v => (int)MathF.Round(v * 255))
            .Should().Equal(0, 0, 0, 0, 0, 1, 2, 3, 0, 5, 6, 7);
        // Crop at the far corner (2p, 2p): the content moves up and left.
        Apply(image, 1, 3, 4, padding: 1, top: 2, left: 2, flip: false).Select(v => (int)MathF.Round(v * 255))
            .Should().Equal(6, 7, 8, 0, 10, 11, 12, 0, 0, 0, 0, 0);
        // The centre crop is the image itself.
        Apply(image, 1, 3, 4, padding: 1, top: 1, left: 1, flip: false).Select(v => (int)MathF.Round(v * 255))
            .Should().Equal(image.Select(b => (int)b));
        // Crop then flip: the shifted image, mirrored.
        Apply(image, 1, 3, 4, padding: 1, top: 0, left: 0, flip: true).Select(v => (int)MathF.Round(v * 255))
            .Should().Equal(0, 0, 0, 0, 3, 2, 1, 0, 7, 6, 5, 0);
    }

    [Fact]
    public void Padding_normalises_like_a_zero_byte()
    {
        var normalization = new Normalization([0.5f], [0.25f]);
        byte[] image = [255];
        var output = Apply(image, 1, 1, 1, padding: 1, top: 0, left: 0, flip: false, normalization.Table());
        Check.Close(output, [(0 - 0.5) / 0.25]);
        Check.Close(Apply(image, 1, 1, 1, 1, 1, 1, false, normalization.Table()), [(1 - 0.5) / 0.25]);
    }

    [Theory]
    [InlineData(1, 1, 1, 0)]
    [InlineData(1, 7, 7, 3)]
    [InlineData(3, 7, 5, 2)]
    [InlineData(1, 31, 33, 4)]
    [InlineData(3, 32, 32, 4)]
    [InlineData(1, 28, 28, 27)]
    public void Every_offset_and_flip_matches_the_definition(int channels, int height, int width, int padding)
    {
        var image = DataFiles.Bytes(height * width + padding, channels * height * width);
        float[] mean = [0.1f, 0.5f, 0.9f], std = [0.3f, 0.2f, 1.7f];
        var table = new Normalization(mean[..channels], std[..channels]).Table();
        for (int top = 0; top <= 2 * padding; top++)
            for (int left = 0; left <= 2 * padding; left++)
                foreach (var flip in new[] { false, true })
                    Check.Close(Apply(image, channels, height, width, padding, top, left, flip, table),
                        Reference(image, channels, height, width, padding, top, left, flip, mean, std),
                        rtol: 1e-6, atol: 1e-6, what: $"top {top}, left {left}, flip {flip}");
    }

    [Fact]
    public void Draws_stay_in_range_and_cover_every_offset_and_both_flips()
    {
        var augmentation = new Augmentation(padding: 2, horizontalFlip: true);
        var random = new SeedMix(1, 2, 3);
        var seen = new HashSet<(int, int, bool)>();
        for (int i = 0; i < 2000; i++)
        {
            var draw = augmentation.Draw(ref random);
            draw.Top.Should().BeInRange(0, 4);
            draw.Left.Should().BeInRange(0, 4);
            seen.Add(draw);
        }
        seen.Should().HaveCount(5 * 5 * 2);
        var none = Augmentation.None.Draw(ref random);
        none.Should().Be((0, 0, false));
        var negative = () => new Augmentation(padding: -1);
        negative.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Theory]
    [InlineData(28, 28)]
    [InlineData(7, 31)]
    [InlineData(32, 5)]
    public void Erased_rectangles_follow_the_drawn_area_and_aspect_and_fit_the_image(int height, int width)
    {
        var augmentation = new Augmentation(erasing: 1);
        var random = new SeedMix(4, height, width);
        int drawn = 0;
        for (int i = 0; i < 3000; i++)
        {
            var r = augmentation.DrawErasing(ref random, height, width);
            if (r.Height == 0) continue;      // ten tries without a fit: nothing erased, as torchvision does
            drawn++;
            r.Top.Should().BeInRange(0, height - r.Height);
            r.Left.Should().BeInRange(0, width - r.Width);
            r.Height.Should().BeInRange(1, height - 1);
            r.Width.Should().BeInRange(1, width - 1);
            // Rounding each side to whole pixels moves the area by at most half a pixel per side.
            double area = r.Height * r.Width, image = height * width;
            area.Should().BeInRange(0.02 * image - (r.Height + r.Width) / 2.0 - 0.25, image / 3.0 + (r.Height + r.Width) / 2.0 + 0.25);
        }
        drawn.Should().BeGreaterThan(1500, "a fitting rectangle is found in most draws");
    }

    [Fact]
    public void Erasing_happens_with_its_probability_and_not_at_all_when_off()
    {
        var random = new SeedMix(9);
        var augmentation = new Augmentation(erasing: 0.25);
        int erased = Enumerable.Range(0, 20000).Count(_ => augmentation.DrawErasing(ref random, 28, 28).Height > 0);
        // Binomial(20000, 0.25 x fit rate ~ 1): the standard deviation is about 61 images.
        erased.Should().BeInRange(4700, 5050);
        var before = random;
        Augmentation.None.DrawErasing(ref random, 28, 28).Should().Be(default(ErasedRectangle));
        random.NextUInt64().Should().Be(before.NextUInt64(), "with erasing off nothing is drawn, so older runs keep their streams");
        var outOfRange = () => new Augmentation(erasing: 1.5);
        outOfRange.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*erasing*");
    }

    [Fact]
    public void Erase_zeroes_the_rectangle_in_every_channel_and_nothing_else()
    {
        const int channels = 3, height = 5, width = 7;
        var image = Enumerable.Range(1, channels * height * width).Select(v => (float)v).ToArray();
        var r = new ErasedRectangle(1, 2, 3, 4);
        Augmentation.Erase(image, channels, height, width, r);
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int i = (c * height + y) * width + x;
                    bool inside = y >= 1 && y < 4 && x >= 2 && x < 6;
                    image[i].Should().Be(inside ? 0 : i + 1, $"pixel ({c}, {y}, {x})");
                }
    }
}
