// FastMath.Exp (Vector512, Cephes expf) against Math.Exp in double: the attention softmax's exp; the lane reductions.
using System.Runtime.Intrinsics;
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels;

public class FastMathTests
{
    [Fact]
    public void Exp_is_within_two_ulp_over_the_normal_range()
    {
        var x = Enumerable.Range(0, 16 * 4000).Select(i => -87.3f + i * (88.3f + 87.3f) / (16 * 4000 - 1)).Concat([0f, -0f, 1f, -1e-8f, 1e-8f]).ToArray();
        x = [.. x, .. new float[(16 - x.Length % 16) % 16]];
        var actual = new float[x.Length];
        for (int i = 0; i < x.Length; i += 16) FastMath.Exp(Vector512.Create(x.AsSpan(i, 16))).CopyTo(actual.AsSpan(i, 16));
        Check.Close(actual, x.Select(v => Math.Exp(v)).ToArray(), 2.5e-7, 0, "exp");
    }

    [Fact]
    public void Exp_of_minus_infinity_and_of_underflowing_inputs_is_zero()
    {
        var x = Vector512.Create([float.NegativeInfinity, -88f, -100f, -1e30f, -87.4f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f]);
        var y = FastMath.Exp(x);
        for (int i = 0; i < 5; i++) y[i].Should().Be(0f, $"exp({x[i]})");
        y[5].Should().Be(1f);
    }

    [Fact]
    public void Max_and_min_across_lanes_find_the_extreme_in_every_position()
    {
        var random = new Random(3);
        for (int at = 0; at < 16; at++)
        {
            var values = Enumerable.Range(0, 16).Select(_ => (float)random.NextDouble() - 2f).ToArray();
            values[at] = 5f + at;
            FastMath.MaxAcross(Vector512.Create(values)).Should().Be(5f + at, $"the maximum in lane {at}");
            var ints = Enumerable.Range(0, 16).Select(_ => random.Next(100, 1000)).ToArray();
            ints[at] = -at;
            FastMath.MinAcross(Vector512.Create(ints)).Should().Be(-at, $"the minimum in lane {at}");
        }
        FastMath.MaxAcross(Vector512.Create(float.NegativeInfinity)).Should().Be(float.NegativeInfinity);
    }
}
