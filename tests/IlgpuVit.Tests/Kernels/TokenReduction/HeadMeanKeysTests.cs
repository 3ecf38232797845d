// Ops.HeadMeanKeys (src/IlgpuVit/Kernels/TokenReduction/HeadMeanKeys.cs): ToMe's and VPA's token metric, the keys of
// the fused qkv (B, T, 3C) = [q | k | v] averaged over heads, against a float64 mean; the q and v
// parts are filled with large values so reading the wrong third shows.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class HeadMeanKeysTests
{
    [SkippableTheory]
    [MemberData(nameof(TokenPlanFixtures.Devices), MemberType = typeof(TokenPlanFixtures))]
    public void Keys_are_the_float64_mean_over_heads(string backend)
    {
        var device = TokenPlanFixtures.Get(backend);
        // d 16 takes the CPU's one-register path; the others the general one.
        var shapes = new[] { (1, 1, 1, 1), (2, 7, 3, 7), (3, 31, 4, 33), (2, 32, 2, 32), (2, 197, 6, 64), (1, 33, 12, 1), (2, 50, 4, 16), (1, 9, 1, 16) };
        foreach (var (batch, tokens, heads, d) in shapes)
        foreach (bool normalize in new[] { false, true })
        {
            int c = heads * d;
            var qkv = TestData.Uniform(tokens * heads + d, batch * tokens * 3 * c);
            for (int i = 0; i < qkv.Length; i++)
                if (i % (3 * c) < c || i % (3 * c) >= 2 * c) qkv[i] = 1000f + i % 7;   // q and v: must not leak in
            var expected = new double[batch * tokens * d];
            for (int row = 0; row < batch * tokens; row++)
                for (int e = 0; e < d; e++)
                {
                    double sum = 0;
                    for (int h = 0; h < heads; h++) sum += qkv[row * 3 * c + c + h * d + e];
                    expected[row * d + e] = sum / heads;
                }
            if (normalize)
                for (int row = 0; row < batch * tokens; row++)
                {
                    var key = expected.AsSpan(row * d, d);
                    double norm = Math.Max(Math.Sqrt(key.ToArray().Sum(v => v * v)), 1e-12);
                    for (int e = 0; e < d; e++) key[e] /= norm;
                }
            using var tq = device.FromArray(qkv, batch, tokens, 3 * c);
            using var keys = device.FromArray(TestData.Uniform(1, batch * tokens * d, 50f), batch, tokens, d);
            Ops.HeadMeanKeys(tq, heads, keys, normalize);
            Check.Close(keys.ToArray(), expected, 1e-6, 1e-6, $"keys ({batch}, {tokens}, {heads} heads x {d}{(normalize ? ", normalised" : "")})");
        }
    }

    [Theory]
    [InlineData(1, 2, 1, 16)]
    [InlineData(2, 7, 3, 7)]
    [InlineData(3, 50, 4, 16)]
    [InlineData(2, 197, 6, 64)]
    public void Keys_of_an_image_in_one_call_are_the_launch_rows_bit_for_bit(int batch, int tokens, int heads, int d)
    {
        // The attention and ToMe's CPU matching average an image's keys in one call (HeadMeanKeyRows), raw or normalised.
        var device = Backends.Cpu;
        int c = heads * d;
        using var qkv = device.FromArray(TestData.Uniform(tokens + d, batch * tokens * 3 * c, 3f), batch, tokens, 3 * c);
        foreach (bool normalize in new[] { false, true })
        {
            float[] Run(bool twin)
            {
                using var keys = device.FromArray(Enumerable.Repeat(float.NaN, batch * tokens * d).ToArray(), batch * tokens * d);
                for (int image = 0; image < batch; image++)
                    if (twin) Ops.HeadMeanKeyRowsPortable(qkv.View, keys.View, (long)image * tokens, tokens, heads, d, normalize ? 1 : 0);
                    else Ops.HeadMeanKeyRows(qkv.View, keys.View, (long)image * tokens, tokens, heads, d, normalize ? 1 : 0);
                return keys.ToArray();
            }
            var perImage = Run(twin: false);
            perImage.Should().NotContain(float.NaN).And.Equal(Run(twin: true));
            using var rows = device.Zeros(batch, tokens, d);
            Ops.HeadMeanKeys(qkv, heads, rows, normalize);
            perImage.Should().Equal(rows.ToArray(), $"({batch}, {tokens}, {heads} x {d}){(normalize ? ", normalised" : "")}");
        }
    }

    [Fact]
    public void Bad_shapes_are_named()
    {
        var device = Backends.Cpu;
        using var qkv = device.Zeros(2, 5, 36);
        using var keys = device.Zeros(2, 5, 4);
        using var wrongKeys = device.Zeros(2, 5, 12);
        var headsNotDividing = () => Ops.HeadMeanKeys(qkv, 5, keys);
        headsNotDividing.Should().Throw<ShapeMismatchException>().WithMessage("HeadMeanKeys: qkv has shape (2, 5, 36); it needs (B, T, 3C) with C a multiple of 5 heads.");
        var badKeys = () => Ops.HeadMeanKeys(qkv, 3, wrongKeys);
        badKeys.Should().Throw<ShapeMismatchException>().WithMessage("HeadMeanKeys: keys has shape (2, 5, 12), expected (2, 5, 4).");
    }
}
