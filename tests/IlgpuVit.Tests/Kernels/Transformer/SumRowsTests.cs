using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class SumRowsTests
{
    private static double[] Reference(float[] x, int c)
    {
        var y = new double[c];
        for (int i = 0; i < x.Length; i++) y[i % c] += x[i];
        return y;
    }

    private static readonly int[][] Shapes =
        [[1], [7], [1, 1], [7, 7], [31, 33], [197, 31], [33, 197], [2, 50, 64], [6400, 64], [300, 385], [40, 1536], [128, 10]];

    private static void CheckShapes(Device device, IEnumerable<int[]> shapes)
    {
        foreach (var shape in shapes)
        {
            int n = shape.Aggregate(1, (p, d) => p * d), c = shape[^1], rows = n / c;
            var x = TestData.Uniform(n + c, n, 2f);
            var start = TestData.Uniform(c, c);
            using var tx = device.FromArray(x, shape);
            using var ty = device.FromArray(start, c);
            double atol = 1e-6 * Math.Sqrt(rows) * 8;   // float32 sums of `rows` terms of size ~1
            Ops.SumRows(tx, ty, accumulate: true);
            Check.Close(ty.ToArray(), Reference(x, c).Select((v, j) => v + start[j]).ToArray(), 1e-5, atol, $"y += sums of {new Shape(shape)}");
            Ops.SumRows(tx, ty, accumulate: false);
            var first = ty.ToArray();
            Check.Close(first, Reference(x, c), 1e-5, atol, $"y = sums of {new Shape(shape)}");
            Ops.SumRows(tx, ty, accumulate: false);
            ty.ToArray().Should().Equal(first, "the sums repeat bit for bit");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_reference_accumulates_on_request_and_repeats_exactly(string backend) =>
        CheckShapes(Backends.Get(backend), Shapes);

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator() =>
        CheckShapes(Backends.GpuSimulator, [[7, 33], [41, 5], [100, 97]]);

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twins()
    {
        var device = Backends.Cpu;
        foreach (var (rows, c) in new[] { (5, 7), (6400, 64), (500, 385) })
        {
            using var tx = device.FromArray(TestData.Uniform(c, rows * c), rows, c);
            using var fast = device.Zeros(c);
            using var twin = device.Zeros(c);
            Ops.SumRows(tx, fast, accumulate: false);
            device.Synchronize();
            int per = Ops.PartialRowsPerBlock(device, rows, c), blocks = (rows + per - 1) / per;
            using var partials = device.Zeros(blocks, c);
            for (int b = 0; b < blocks; b++)
                Ops.SumRowsBlockPortable(tx.View, partials.View, b * per, Math.Min(per, rows - b * per), c, 0, c, b);
            Ops.SumPartialColumnsPortable(partials.View, twin.View, twin.View, blocks, c, c, 0, c, 0);
            Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-5, 1e-5 * Math.Sqrt(rows), $"({rows}, {c})");
        }
    }

    [Fact]
    public void Rejects_an_output_that_is_not_one_row()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(4, 7);
        using var y = device.Zeros(1, 7);
        ((Action)(() => Ops.SumRows(x, y, false))).Should().Throw<ShapeMismatchException>()
            .WithMessage("SumRows: y has shape (1, 7), expected (7).");
    }
}
