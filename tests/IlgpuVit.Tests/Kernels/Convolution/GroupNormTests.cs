// GroupNorm forward and backward kernels: forward against float64 on the CPU and the GPU simulator,
// the backward on both against each other and against the tape's finite-difference check
// (Autodiff/ConvOpGradientTests), a large-mean input for the two-pass variance, and the errors.
using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Convolution;

public class GroupNormTests
{
    public static TheoryData<int, int, int, int, int> Cases => new()
    {
        { 1, 1, 1, 1, 1 }, { 2, 6, 3, 7, 3 }, { 1, 64, 7, 9, 32 }, { 3, 33, 5, 1, 11 }, { 2, 32, 1, 1, 32 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_matches_float64_and_backward_agrees_across_paths(int b, int c, int h, int w, int groups)
    {
        var x = TestData.Uniform(1, b * c * h * w, 2f).Select(v => v + 3f).ToArray();
        var gamma = TestData.Uniform(2, c);
        var beta = TestData.Uniform(3, c);
        var dy = TestData.Uniform(4, x.Length);
        var expected = ConvReference.GroupNorm(x.ToDouble(), gamma.ToDouble(), beta.ToDouble(), b, c, groups);
        float[]? firstDx = null, firstDgamma = null, firstDbeta = null;
        foreach (var device in new[] { Backends.Cpu, Backends.GpuSimulator })
        {
            using var tx = device.FromArray(x, b, c, h, w);
            using var tg = device.FromArray(gamma, c);
            using var tb = device.FromArray(beta, c);
            using var ty = device.Zeros(b, c, h, w);
            using var mean = device.Zeros(b, groups);
            using var rstd = device.Zeros(b, groups);
            Ops.GroupNorm(tx, tg, tb, ty, groups, 1e-5f, mean, rstd);
            Check.Close(ty.ToArray(), expected, 1e-4, 1e-4, $"y on {device}");

            using var tdy = device.FromArray(dy, b, c, h, w);
            using var tdx = device.Zeros(b, c, h, w);
            using var dgamma = device.FromArray(Enumerable.Repeat(1f, c).ToArray(), c);
            using var dbeta = device.FromArray(Enumerable.Repeat(1f, c).ToArray(), c);
            Ops.GroupNormBackward(tdy, tx, tg, mean, rstd, tdx, dgamma, dbeta, groups);
            // dbeta is exact: 1 + the per-channel sum of dy.
            var dbetaExpected = new double[c];
            for (int i = 0; i < dy.Length; i++) dbetaExpected[i / (h * w) % c] += dy[i];
            Check.Close(dbeta.ToArray(), dbetaExpected.Select(v => v + 1).ToArray(), 1e-5, 1e-5, $"dbeta on {device}");
            if (firstDx is null)
            {
                (firstDx, firstDgamma, firstDbeta) = (tdx.ToArray(), dgamma.ToArray(), dbeta.ToArray());
                continue;
            }
            Check.Close(tdx.ToArray(), firstDx.ToDouble(), 1e-5, 1e-5, "dx, simulator vs CPU");
            Check.Close(dgamma.ToArray(), firstDgamma!.ToDouble(), 1e-5, 1e-5, "dgamma, simulator vs CPU");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void With_relu_the_output_is_the_rectified_norm_in_place_too(int b, int c, int h, int w, int groups)
    {
        var x = TestData.Uniform(5, b * c * h * w, 2f);
        var gamma = TestData.Uniform(6, c);
        var beta = TestData.Uniform(7, c);
        var expected = ConvReference.GroupNorm(x.ToDouble(), gamma.ToDouble(), beta.ToDouble(), b, c, groups).Select(v => Math.Max(v, 0)).ToArray();
        foreach (var device in new[] { Backends.Cpu, Backends.GpuSimulator })
        {
            using var tx = device.FromArray(x, b, c, h, w);
            using var tg = device.FromArray(gamma, c);
            using var tb = device.FromArray(beta, c);
            using var ty = device.Zeros(b, c, h, w);
            Ops.GroupNorm(tx, tg, tb, ty, groups, 1e-5f, relu: true);
            Check.Close(ty.ToArray(), expected, 1e-4, 1e-4, $"y on {device}");
            Ops.GroupNorm(tx, tg, tb, tx, groups, 1e-5f, relu: true);
            Check.Close(tx.ToArray(), expected, 1e-4, 1e-4, $"in place on {device}");
        }
    }

    [Fact]
    public void Bad_shapes_get_messages_that_name_the_problem()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(2, 6, 3, 3);
        using var g = device.Zeros(6);
        using var y = device.Zeros(2, 6, 3, 3);
        FluentActions.Invoking(() => Ops.GroupNorm(x, g, g, y, 4)).Should().Throw<ShapeMismatchException>().WithMessage("*6 channels*4 groups*");
        using var wrong = device.Zeros(5);
        FluentActions.Invoking(() => Ops.GroupNorm(x, wrong, g, y, 3)).Should().Throw<ShapeMismatchException>().WithMessage("*gamma*");
        using var stats = device.Zeros(2, 2);
        FluentActions.Invoking(() => Ops.GroupNorm(x, g, g, y, 3, 1e-5f, stats)).Should().Throw<ShapeMismatchException>().WithMessage("*mean*(2, 3)*");
    }
}
