using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Transformer;

public class ReduceTests
{
    /// <summary>x viewed as (outer, axis, inner) reduced over the middle axis in float64.</summary>
    public static double[] Reference(float[] x, int[] shape, int axis, string op)
    {
        int outer = shape[..axis].Aggregate(1, (p, d) => p * d), length = shape[axis];
        int inner = shape[(axis + 1)..].Aggregate(1, (p, d) => p * d);
        var y = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++)
            {
                var values = Enumerable.Range(0, length).Select(r => (double)x[(o * length + r) * inner + j]);
                y[o * inner + j] = op switch { "sum" => values.Sum(), "mean" => values.Average(), _ => values.Max() };
            }
        return y;
    }

    private static readonly (int[] Shape, int Axis)[] Cases =
    [
        ([1], 0), ([7], 0), ([385], -1), ([1, 1, 1], 1),
        ([7, 31], 0), ([7, 31], 1), ([33, 32], 0), ([33, 32], 1),
        ([2, 197, 385], 0), ([2, 197, 385], 1), ([2, 197, 385], 2),
        ([3, 31, 7], 1), ([4, 5, 33], 1), ([197, 64], 0), ([1000, 385], 0),   // the last: a bias gradient
        ([64, 3, 2], 0), ([2, 3, 4, 5], 2),
    ];

    private static void Run(string op, int axis, Tensor<float> x, Tensor<float> y)
    {
        switch (op)
        {
            case "sum": Ops.Sum(x, y, axis); break;
            case "mean": Ops.Mean(x, y, axis); break;
            default: Ops.Max(x, y, axis); break;
        }
    }

    private static void CheckCases(Device device, IEnumerable<(int[] Shape, int Axis)> cases)
    {
        foreach (var (shape, axisIn) in cases)
        {
            int axis = axisIn < 0 ? axisIn + shape.Length : axisIn;
            int n = shape.Aggregate(1, (p, d) => p * d);
            var x = TestData.Uniform(n + axis, n, 2f);
            int[] outShape = [.. shape[..axis], .. shape[(axis + 1)..]];
            using var tx = device.FromArray(x, shape);
            using var ty = outShape.Length == 0 ? device.Zeros(1) : device.Zeros(outShape);
            foreach (var op in new[] { "sum", "mean", "max" })
            {
                Run(op, axisIn, tx, ty);
                // float32 sums of `length` terms of size ~1: error grows like sqrt(length) ulps.
                double atol = 1e-6 * Math.Sqrt(shape[axis]) * 4;
                Check.Close(ty.ToArray(), Reference(x, shape, axis, op), 1e-5, atol, $"{op} of {new Shape(shape)} over axis {axisIn}");
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Sum_mean_and_max_match_float64_reference_along_every_axis(string backend) =>
        CheckCases(Backends.Get(backend), Cases);

    [Fact]
    public void Gpu_launch_geometry_of_one_output_per_thread_matches_reference_on_the_group_simulator() =>
        CheckCases(Backends.GpuSimulator, [([7, 31], 0), ([3, 33, 5], 1), ([5, 97], 1)]);

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        // Contiguous rows (several per index), a 64-column bias gradient with a 1-column tail, and
        // column blocks of 64, 16 and a scalar tail inside one index.
        foreach (var (outer, length, inner) in new[] { (500, 37, 1), (1, 500, 385), (3, 9, 100) })
        {
            using var tx = device.FromArray(TestData.Uniform(length, outer * length * inner, 3f), outer, length, inner);
            using var fast = device.Zeros(outer, inner);
            using var twin = device.Zeros(outer, inner);

            void Compare<TOp>(TOp op) where TOp : struct, IReduceOp
            {
                Ops.Reduce(tx, fast, 1, op);
                device.Synchronize();
                // The kernel's indices: blocks of R outer rows times W columns, as the launcher sizes them.
                int cols = inner > 1 ? Math.Min(Ops.ReduceWidth, inner) : 1;
                int rowsPer = Math.Max(1, Ops.ReduceChunk / (length * cols));
                for (int o = 0; o < outer; o += rowsPer)
                    for (int j = 0; j < inner; j += cols)
                        Ops.ReduceBlockPortable(tx.View, twin.View, o, Math.Min(rowsPer, outer - o), length, inner, j, Math.Min(cols, inner - j), op);
                Check.Close(fast.ToArray(), twin.ToArray().ToDouble(), 1e-6, 1e-6 * Math.Sqrt(length), $"{typeof(TOp).Name} ({outer}, {length}, {inner})");
            }

            Compare(new SumOp());
            Compare(new MeanOp());
            Compare(new MaxOp());
        }
    }

    [Fact]
    public void Rejects_an_output_that_is_not_the_input_without_the_axis()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(2, 197, 385);
        using var y = device.Zeros(2, 197);
        ((Action)(() => Ops.Sum(x, y, 1))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Sum: y has shape (2, 197), expected (2, 385) (x of shape (2, 197, 385) without axis 1).");
        ((Action)(() => Ops.Max(x, y, 3))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Max: axis 3 is outside x of shape (2, 197, 385).");
        ((Action)(() => Ops.Mean(x, y, -3))).Should().Throw<ShapeMismatchException>()
            .WithMessage("Mean: y has shape (2, 197), expected (197, 385) (x of shape (2, 197, 385) without axis 0).");
    }
}
