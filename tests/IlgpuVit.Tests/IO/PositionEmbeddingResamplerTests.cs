// Position-embedding resampling against torch (scripts/make_import_fixtures.py: timm's
// resample_abs_pos_embed with F.interpolate bicubic, align_corners=False, antialias=False, in
// float64): a 14x14 grid down to 16x16 and to 10x12, a 7x7 grid up to 12x12, within 1e-5. Plus the
// properties that hold for any input: the CLS row is copied, the same grid is the identity, a
// constant grid stays constant (the weights sum to 1), and bad lengths are refused.
using FluentAssertions;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public sealed class PositionEmbeddingResamplerTests : IDisposable
{
    private readonly SafeTensorsFile _reference = SafeTensorsFile.Open(Path.Combine(AppContext.BaseDirectory, "Fixtures", "import_reference.safetensors"));

    public void Dispose() => _reference.Dispose();

    [Theory]
    [InlineData("resample.source", 14, 14, "resample.to_16x16", 16, 16)]
    [InlineData("resample.source", 14, 14, "resample.to_10x12", 10, 12)]
    [InlineData("upsample.source", 7, 7, "upsample.to_12x12", 12, 12)]
    public void Matches_torch_bicubic(string source, int height, int width, string expected, int toHeight, int toWidth)
    {
        var info = _reference.Info(source);
        int channels = info.Shape[2];
        var actual = PositionEmbeddingResampler.Resample(_reference.ReadSingles(source), channels, prefixTokens: 1,
            new PatchGrid(height, width), new PatchGrid(toHeight, toWidth));
        _reference.Info(expected).Shape.Should().Equal(1, 1 + toHeight * toWidth, channels);
        Check.Close(actual, _reference.ReadSingles(expected).ToDouble(), rtol: 1e-5, atol: 1e-5, what: $"{source} -> {expected}");
    }

    [Fact]
    public void Prefix_rows_are_copied_unchanged()
    {
        var source = TestData.Uniform(1, (2 + 3 * 5) * 7);
        var actual = PositionEmbeddingResampler.Resample(source, 7, prefixTokens: 2, new PatchGrid(3, 5), new PatchGrid(4, 4));
        actual.Should().HaveCount((2 + 16) * 7);
        actual[..14].Should().Equal(source[..14]);
    }

    [Theory]
    [InlineData(1, 1, 3)]
    [InlineData(7, 7, 5)]
    [InlineData(14, 14, 33)]
    public void The_same_grid_is_the_identity(int height, int width, int channels)
    {
        // Source coordinates fall on pixel centres (t = 0): weights (0, 1, 0, 0).
        var source = TestData.Uniform(2, (1 + height * width) * channels);
        var actual = PositionEmbeddingResampler.Resample(source, channels, 1, new PatchGrid(height, width), new PatchGrid(height, width));
        Check.Close(actual, source.ToDouble(), rtol: 0, atol: 1e-6, what: "identity");
    }

    [Theory]
    [InlineData(1, 1, 31, 33)]
    [InlineData(14, 14, 1, 1)]
    [InlineData(3, 5, 7, 2)]
    public void A_constant_grid_stays_constant(int height, int width, int toHeight, int toWidth)
    {
        var source = Enumerable.Repeat(0.75f, (1 + height * width) * 2).ToArray();
        var actual = PositionEmbeddingResampler.Resample(source, 2, 1, new PatchGrid(height, width), new PatchGrid(toHeight, toWidth));
        Check.Close(actual, Enumerable.Repeat(0.75, (1 + toHeight * toWidth) * 2).ToArray(), rtol: 0, atol: 1e-6, what: "constant");
    }

    [Fact]
    public void Bad_lengths_and_sizes_are_refused()
    {
        ((Action)(() => PositionEmbeddingResampler.Resample(new float[197 * 4], 4, 1, PatchGrid.Square(14), PatchGrid.Square(16))))
            .Should().NotThrow();
        ((Action)(() => PositionEmbeddingResampler.Resample(new float[196 * 4], 4, 1, PatchGrid.Square(14), PatchGrid.Square(16))))
            .Should().Throw<ArgumentException>().WithMessage("*1 prefix rows, grid 14x14 and 4 channels has 788 values, not 784*");
        ((Action)(() => PositionEmbeddingResampler.Resample(new float[8], 4, 1, PatchGrid.Square(1), new PatchGrid(0, 3))))
            .Should().Throw<ArgumentException>().WithMessage("*grid 1x1 -> 0x3*");
    }
}
