using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using MathNet.Numerics;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class GeluBackwardTests
{
    private static double Gelu(double x) => 0.5 * x * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2)));

    /// <summary>Phi(x) + x phi(x) in float64.</summary>
    private static double Derivative(double x) =>
        0.5 * (1 + SpecialFunctions.Erf(x / Math.Sqrt(2))) + x * Math.Exp(-0.5 * x * x) / Math.Sqrt(2 * Math.PI);

    private static readonly int[][] Shapes = [[1], [7], [31], [33], [3, 197], [5, 385], [64, 64], [2, Ops.ElementwiseChunk + 33]];

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_finite_differences_and_the_float64_derivative(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var shape in Shapes)
        {
            int n = shape.Aggregate(1, (p, d) => p * d);
            var x = TestData.Uniform(n + 3, n, 5f);
            var dy = TestData.Uniform(n + 4, n, 2f);
            using var tx = device.FromArray(x, shape);
            using var tdy = device.FromArray(dy, shape);
            using var tdx = device.Zeros(shape);
            Ops.GeluBackward(tx, tdy, tdx);
            var dx = tdx.ToArray();
            Check.Close(dx, x.Select((v, i) => dy[i] * Derivative(v)).ToArray(), 1e-5, 1e-6, $"analytic {new Shape(shape)}");
            if (n <= 400)
            {
                // sum_i dy_i gelu(x_i): its gradient is dy * gelu'(x).
                var w = dy.ToDouble();
                var fd = FiniteDifference.Gradient(v => FiniteDifference.Dot(w, v.Select(Gelu).ToArray()), x.ToDouble());
                Check.Close(dx, fd, 1e-4, 1e-6, $"finite differences {new Shape(shape)}");
            }
            Ops.GeluBackward(tx, tdy, tdy);   // over dy
            tdy.ToArray().Should().Equal(dx);
        }
    }

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator()
    {
        var x = TestData.Uniform(1, 7 * 97, 4f);
        var dy = TestData.Uniform(2, 7 * 97);
        using var tx = Backends.GpuSimulator.FromArray(x, 7, 97);
        using var tdy = Backends.GpuSimulator.FromArray(dy, 7, 97);
        Ops.GeluBackward(tx, tdy, tdy);
        Check.Close(tdy.ToArray(), x.Select((v, i) => dy[i] * Derivative(v)).ToArray(), 1e-5, 1e-6, "dx");
    }

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        int n = 3 * Ops.ElementwiseChunk - 5;
        using var tx = device.FromArray(TestData.Uniform(5, n, 6f), n);
        using var tdy = device.FromArray(TestData.Uniform(6, n), n);
        using var fast = device.Zeros(n);
        using var twin = device.Zeros(n);
        Ops.GeluBackward(tx, tdy, fast);
        device.Synchronize();
        for (int start = 0; start < n; start += Ops.ElementwiseChunk)
            Ops.MapBinaryChunkPortable(tx.View, tdy.View, twin.View, start, Math.Min(Ops.ElementwiseChunk, n - start), n, new GeluBackwardOp());
        Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-6, 1e-7, "fast vs portable");
    }

    [Fact]
    public void Rejects_a_gradient_of_another_shape_even_one_that_would_broadcast()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(4, 7);
        using var row = device.Zeros(7);
        ((Action)(() => Ops.GeluBackward(x, row, x))).Should().Throw<ShapeMismatchException>()
            .WithMessage("GeluBackward: dy has shape (7), expected (4, 7).");
        ((Action)(() => Ops.GeluBackward(x, x, row))).Should().Throw<ShapeMismatchException>()
            .WithMessage("GeluBackward: dx has shape (7), expected (4, 7).");
    }
}
