using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class SoftmaxTests
{
    public static double[] Reference(float[] x, int n, double scale, float[]? bias, int rowsPerBias)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / n; r++)
        {
            double max = double.NegativeInfinity;
            var z = new double[n];
            for (int j = 0; j < n; j++)
            {
                z[j] = scale * x[r * n + j] + (bias is null ? 0 : bias[r / rowsPerBias * n + j]);
                max = Math.Max(max, z[j]);
            }
            double sum = z.Sum(v => Math.Exp(v - max));
            for (int j = 0; j < n; j++) y[r * n + j] = Math.Exp(z[j] - max) / sum;
        }
        return y;
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Matches_float64_reference_on_odd_and_round_shapes(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, n) in new[] { (1, 1), (7, 7), (3, 197), (5, 385), (4, 32), (2, 64), (33, 31), (3, 33), (2, 4100) })
        {
            var x = TestData.Uniform(rows * 31 + n, rows * n, 4f);
            using var tx = device.FromArray(x, rows, n);
            using var ty = device.Zeros(rows, n);
            Ops.Softmax(tx, ty, scale: 0.7f);
            Check.Close(ty.ToArray(), Reference(x, n, 0.7, null, rows), what: $"softmax ({rows}, {n})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Adds_one_key_bias_row_per_image_for_proportional_attention(string backend)
    {
        var device = Backends.Get(backend);
        int images = 3, heads = 2, t = 17;
        var x = TestData.Uniform(1, images * heads * t * t, 3f);
        var bias = TestData.Uniform(2, images * t, 2f);
        using var tx = device.FromArray(x, images, heads, t, t);
        using var tb = device.FromArray(bias, images, t);
        Ops.Softmax(tx, tx, scale: 0.125f, keyBias: tb);   // in place
        Check.Close(tx.ToArray(), Reference(x, t, 0.125, bias, heads * t), what: "biased softmax");
    }

    [Fact]
    public void Rejects_a_bias_that_does_not_divide_the_rows()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(6, 5);
        using var bias = device.Zeros(4, 5);
        var act = () => Ops.Softmax(x, x, keyBias: bias);
        act.Should().Throw<ShapeMismatchException>().WithMessage("*(4, 5)*(6, 5)*");
    }
}

public class SoftmaxFastPathTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(9, 197)]
    [InlineData(4, 32)]
    [InlineData(3, 385)]
    public void Cpu_fast_path_matches_its_portable_twin_run_on_the_host(int rows, int n)
    {
        var device = Backends.Cpu;
        var x = TestData.Uniform(rows + n, rows * n, 5f);
        var bias = TestData.Uniform(7, n);
        using var tx = device.FromArray(x, rows, n);
        using var tb = device.FromArray(bias, 1, n);
        using var fast = device.Zeros(rows, n);
        using var portable = device.Zeros(rows, n);
        Ops.Softmax(tx, fast, 0.3f, tb);
        for (int r = 0; r < rows; r++)
            Ops.SoftmaxRowPortable(tx.View, portable.View, tb.View, r * n, 0, n, 0.3f, 1);
        Check.Close(fast.ToArray(), portable.ToArray().ToDouble(), 1e-6, 1e-7, "fast vs portable");
    }
}
