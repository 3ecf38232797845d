using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.Optimizer;

public class SumOfSquaresTests
{
    private static void CheckLengths(Device device, IEnumerable<int> lengths)
    {
        using var result = device.FromArray([-1f, -2f, -3f], 3);
        foreach (var n in lengths)
        {
            var x = TestData.Uniform(n, n, 2f);
            using var tx = device.FromArray(x, n);
            Ops.SumOfSquares(tx, result, 1);
            var got = result.ToArray();
            double expected = x.Sum(v => (double)v * v);
            Check.Close([got[1]], [expected], 1e-5, 1e-6, $"sum of squares of {n}");
            Check.Close([got[0], got[2]], [-1, -3], 0, 0, "the other slots");
            Ops.SumOfSquares(tx, result, 1);
            result.ToArray()[1].Should().Be(got[1], "the sum repeats bit for bit");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_float64_reference_in_one_and_two_stages(string backend) =>
        CheckLengths(Backends.Get(backend), [1, 7, 31, 33, 64, 197, 16384, 16385, 1_000_003, 3 * 1024 * 1024]);

    [Fact]
    public void Gpu_launch_geometry_matches_reference_on_the_group_simulator() =>
        CheckLengths(Backends.GpuSimulator, [1, 33, Ops.SquaresGpuBlock, 5 * Ops.SquaresGpuBlock + 7]);

    [Fact]
    public void Cpu_fast_path_agrees_with_its_portable_twin()
    {
        var device = Backends.Cpu;
        foreach (var n in new[] { 1, 15, 97, 20000 })
        {
            using var tx = device.FromArray(TestData.Uniform(n, n, 3f), n);
            float fast = Ops.SquaresOf(tx.View, 0, n), twin = Ops.SquaresOfPortable(tx.View, 0, n);
            Check.Close([fast], [twin], 1e-5, 0, $"n {n}");
        }
    }

    [Fact]
    public void Rejects_a_slot_outside_the_result_and_a_result_that_is_not_a_vector()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(5);
        using var result = device.Zeros(3);
        using var matrix = device.Zeros(3, 1);
        ((Action)(() => Ops.SumOfSquares(x, result, 3))).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("SumOfSquares: slot 3 is outside result of shape (3).*");
        ((Action)(() => Ops.SumOfSquares(x, matrix, 0))).Should().Throw<ShapeMismatchException>()
            .WithMessage("SumOfSquares: result has shape (3, 1); it needs (P), one slot per tensor.");
    }
}
