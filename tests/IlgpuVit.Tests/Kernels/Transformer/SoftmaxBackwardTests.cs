using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class SoftmaxBackwardTests
{
    /// <summary>softmax(scale x) per row in float64.</summary>
    private static double[] Forward(double[] x, int n, double scale)
    {
        var y = new double[x.Length];
        for (int r = 0; r < x.Length / n; r++)
        {
            double max = double.NegativeInfinity, sum = 0;
            for (int j = 0; j < n; j++) max = Math.Max(max, scale * x[r * n + j]);
            for (int j = 0; j < n; j++) sum += y[r * n + j] = Math.Exp(scale * x[r * n + j] - max);
            for (int j = 0; j < n; j++) y[r * n + j] /= sum;
        }
        return y;
    }

    /// <summary>dx = scale y (dy - sum_k dy_k y_k) in float64, from the float32 y the kernel sees.</summary>
    public static double[] Reference(float[] y, float[] dy, int n, double scale)
    {
        var dx = new double[y.Length];
        for (int r = 0; r < y.Length / n; r++)
        {
            double dot = 0;
            for (int j = 0; j < n; j++) dot += (double)dy[r * n + j] * y[r * n + j];
            for (int j = 0; j < n; j++) dx[r * n + j] = scale * y[r * n + j] * (dy[r * n + j] - dot);
        }
        return dx;
    }

    private static float[] Run(Device device, float[] x, float[] dy, int n, float scale, bool inPlace = false)
    {
        int rows = x.Length / n;
        using var tx = device.FromArray(x, rows, n);
        using var ty = device.Zeros(rows, n);
        using var tdy = device.FromArray(dy, rows, n);
        using var tdx = device.Zeros(rows, n);
        Ops.Softmax(tx, ty, scale);
        Ops.SoftmaxBackward(ty, tdy, inPlace ? tdy : tdx, scale);
        return (inPlace ? tdy : tdx).ToArray();
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_finite_differences_of_the_float64_forward(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, n) in new[] { (1, 1), (7, 7), (3, 31), (2, 33), (1, 197), (4, 50), (2, 64) })
        {
            var x = TestData.Uniform(rows + n, rows * n, 3f);
            var dy = TestData.Uniform(rows * n, rows * n);
            var dx = Run(device, x, dy, n, 0.7f);
            var w = dy.ToDouble();
            var expected = FiniteDifference.Gradient(v => FiniteDifference.Dot(w, Forward(v, n, 0.7f)), x.ToDouble());
            Check.Close(dx, expected, 1e-3, 1e-6, $"dx ({rows}, {n})");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.AllAndSimulator), MemberType = typeof(Backends))]
    public void Matches_float64_analytic_reference_and_may_overwrite_dy(string backend)
    {
        var device = Backends.Get(backend);
        // The simulator runs every thread of a group on the CPU, with a barrier per reduction step: few rows there.
        var shapes = backend == "simulator"
            ? new[] { (1, 1), (7, 7), (3, 31), (2, 33), (2, 197), (2, 385), (1, 4100) }
            : new[] { (1, 1), (7, 7), (33, 31), (197, 33), (31, 197), (64, 64), (400, 50), (3, 1000) };
        foreach (var (rows, n) in shapes)
        {
            var x = TestData.Uniform(rows * 2 + n, rows * n, 4f);
            var dy = TestData.Uniform(rows + 3 * n, rows * n);
            int count = rows * n;
            using var tx = device.FromArray(x, rows, n);
            using var ty = device.Zeros(rows, n);
            Ops.Softmax(tx, ty, 0.125f);
            var y = ty.ToArray();
            foreach (var inPlace in new[] { false, true })
            {
                var dx = Run(device, x, dy, n, 0.125f, inPlace);
                Check.Close(dx, Reference(y, dy, n, 0.125), 1e-4, 1e-6, $"dx ({rows}, {n}){(inPlace ? " over dy" : "")}");
            }
        }
    }

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator()
    {
        int rows = 9, n = 37;
        var x = TestData.Uniform(1, rows * n, 2f);
        var dy = TestData.Uniform(2, rows * n);
        var dx = Run(Backends.GpuSimulator, x, dy, n, 1f);
        Check.Close(dx, Reference(Forward(x.ToDouble(), n, 1).Select(v => (float)v).ToArray(), dy, n, 1), 1e-4, 1e-6, "dx");
    }

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        foreach (var (rows, n) in new[] { (3, 7), (200, 50), (5, 385) })
        {
            using var ty = device.FromArray(TestData.Uniform(n, rows * n, 1f).Select(Math.Abs).ToArray(), rows, n);
            using var tdy = device.FromArray(TestData.Uniform(rows, rows * n), rows, n);
            using var fast = device.Zeros(rows, n);
            using var twin = device.Zeros(rows, n);
            Ops.SoftmaxBackward(ty, tdy, fast, 0.3f);
            device.Synchronize();
            Ops.SoftmaxBackwardRowsPortable(ty.View, tdy.View, twin.View, 0, rows, n, 0.3f);
            Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-5, 1e-6, $"({rows}, {n})");
        }
    }

    [Fact]
    public void Rejects_gradients_of_another_shape()
    {
        var device = Backends.Cpu;
        using var y = device.Zeros(4, 7);
        using var other = device.Zeros(7, 4);
        ((Action)(() => Ops.SoftmaxBackward(y, other, y))).Should().Throw<ShapeMismatchException>()
            .WithMessage("SoftmaxBackward: dy has shape (7, 4), expected (4, 7).");
        ((Action)(() => Ops.SoftmaxBackward(y, y, other))).Should().Throw<ShapeMismatchException>()
            .WithMessage("SoftmaxBackward: dx has shape (7, 4), expected (4, 7).");
    }
}
