using FluentAssertions;
using IlgpuVit.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Data;

public class NormalizationTests
{
    [Fact]
    public void The_table_is_byte_over_255_minus_mean_over_std()
    {
        var normalization = new Normalization([0.25f, 0.5f], [0.5f, 2f]);
        var table = normalization.Table();
        var expected = new double[512];
        for (int c = 0; c < 2; c++)
            for (int v = 0; v < 256; v++)
                expected[c * 256 + v] = (v / 255.0 - normalization.Mean[c]) / normalization.Std[c];
        Check.Close(table, expected, rtol: 1e-6, atol: 1e-6);
    }

    [Fact]
    public void Compute_measures_each_channel()
    {
        // Channel 0 alternates 0 and 255 (mean 0.5, std 0.5); channel 1 is constant 51 (mean 0.2) except one 255.
        var pixels = new byte[2 * 2 * 3 * 3];
        for (int i = 0; i < 2; i++)
            for (int p = 0; p < 9; p++)
            {
                pixels[(i * 2 + 0) * 9 + p] = (byte)(((i * 9 + p) % 2) * 255);
                pixels[(i * 2 + 1) * 9 + p] = 51;
            }
        pixels[(1 * 2 + 1) * 9 + 8] = 255;
        var data = new ImageDataset(pixels, new[] { 0, 0 }, 2, 3, 3, 1);
        var measured = Normalization.Compute(data);
        double m1 = (17 * 51 + 255) / 18.0 / 255, q1 = (17 * 0.04 + 1) / 18;
        Check.Close(measured.Mean, [0.5, m1], rtol: 1e-6, atol: 1e-6);
        Check.Close(measured.Std, [0.5, Math.Sqrt(q1 - m1 * m1)], rtol: 1e-5, atol: 1e-6);
    }

    [Fact]
    public void Bad_values_are_rejected()
    {
        var lengths = () => new Normalization([0.5f, 0.5f], [1f]);
        lengths.Should().Throw<ArgumentException>().WithMessage("*2 means and 1 stds*");
        var zero = () => new Normalization([0.5f], [0f]);
        zero.Should().Throw<ArgumentException>().WithMessage("*std of channel 0 is 0*positive*");
        var nan = () => new Normalization([float.NaN], [1f]);
        nan.Should().Throw<ArgumentException>().WithMessage("*mean of channel 0*finite*");
    }
}
