using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class TopKTests
{
    // (rows, n, k): odd and round sizes, k = 1 and k = n.
    private static readonly (int Rows, int N, int K)[] Shapes =
        [(1, 1, 1), (7, 7, 1), (7, 7, 7), (3, 31, 5), (4, 32, 32), (5, 33, 17), (2, 197, 98), (3, 385, 1), (2, 385, 385), (64, 64, 8)];

    /// <summary>The exact order: value descending, NaN last, ties by lower index (a stable sort).</summary>
    public static int[] Reference(float[] x, int n, int k)
    {
        int rows = x.Length / n;
        var index = new int[rows * k];
        for (int r = 0; r < rows; r++)
        {
            var order = Enumerable.Range(0, n)
                .OrderBy(j => float.IsNaN(x[r * n + j]) ? 1 : 0)
                .ThenByDescending(j => float.IsNaN(x[r * n + j]) ? 0.0 : x[r * n + j])
                .ThenBy(j => j)
                .Take(k).ToArray();
            order.CopyTo(index, r * k);
        }
        return index;
    }

    /// <summary>Values on a grid of 9 levels, so most rows are full of ties.</summary>
    public static float[] Quantised(int seed, int length) =>
        Array.ConvertAll(TestData.Uniform(seed, length), v => MathF.Round(v * 4f) / 4f);

    internal static void Run(Device device, float[] x, int rows, int n, int k, string what)
    {
        using var tx = device.FromArray(x, rows, n);
        using var index = Tensor<int>.Zeros(device, rows, k);
        using var values = device.Zeros(rows, k);
        Ops.TopK(tx, index, values);
        var expected = Reference(x, n, k);
        Check.Equal(index.ToArray(), expected, $"top-k indices {what} ({rows}, {n}, k {k})");
        var expectedValues = expected.Select((j, i) => (double)x[i / k * n + j]).ToArray();
        var got = values.ToArray();
        for (int i = 0; i < got.Length; i++)
            if (double.IsNaN(expectedValues[i])) float.IsNaN(got[i]).Should().BeTrue($"value [{i}] is a NaN from the input");
            else got[i].Should().Be((float)expectedValues[i], $"value [{i}] of {what}");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_a_stable_sort_on_distinct_and_tied_values(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, n, k) in Shapes)
        {
            Run(device, TestData.Uniform(rows * 131 + n + k, rows * n), rows, n, k, "distinct");
            Run(device, Quantised(rows + n * 17 + k, rows * n), rows, n, k, "tied");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Ranks_nan_below_every_number_and_ties_zeros_of_either_sign(string backend)
    {
        var device = Backends.Get(backend);
        float nan = float.NaN, inf = float.PositiveInfinity;
        float[] row = [nan, 1f, -inf, 0f, nan, -0f, inf, 1f, nan, -2f];
        Run(device, row, 1, row.Length, row.Length, "with NaN");
        // Expected order written out: inf, 1 (1), 1 (7), 0 (3), -0 (5), -2, -inf, then the NaNs in index order.
        using var tx = device.FromArray(row, 1, row.Length);
        using var index = Tensor<int>.Zeros(device, 1, row.Length);
        Ops.TopK(tx, index);
        index.ToArray().Should().Equal(6, 1, 7, 3, 5, 9, 2, 0, 4, 8);

        // A longer row takes the vector path too, NaNs scattered through it.
        var x = Quantised(7, 3 * 197);
        for (int i = 0; i < x.Length; i += 13) x[i] = nan;
        Run(device, x, 3, 197, 197, "with NaN");
        Run(device, x, 3, 197, 40, "with NaN");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Keeps_leading_dimensions_and_needs_no_values(string backend)
    {
        var device = Backends.Get(backend);
        var x = Quantised(3, 2 * 3 * 50);
        using var tx = device.FromArray(x, 2, 3, 50);
        using var index = Tensor<int>.Zeros(device, 2, 3, 9);
        Ops.TopK(tx, index);
        Check.Equal(index.ToArray(), Reference(x, 50, 9), "top-k (2, 3, 50) -> (2, 3, 9)");
    }

    [Fact]
    public void Gpu_path_with_one_element_per_thread_matches_on_the_group_simulator()
    {
        var device = Backends.GpuSimulator;
        Run(device, Quantised(5, 3 * 45), 3, 45, 11, "tied, simulator");
        Run(device, TestData.Uniform(6, 2 * 33), 2, 33, 33, "distinct, simulator");
    }

    [Fact]
    public void Fast_ranks_match_the_portable_twin()
    {
        // k = n ranks the NaNs too (they come last); n 77 and 9 end part-way through a 16-lane vector.
        foreach (var (n, k) in new[] { (77, 30), (77, 77), (9, 9), (16, 5) })
            FastRanksMatchTheTwin(5, n, k);
    }

    private static void FastRanksMatchTheTwin(int rows, int n, int k)
    {
        var device = Backends.Cpu;
        var x = Quantised(11 + n, rows * n);
        x[3] = x[n + 1] = x[2 * n + 2] = x[2 * n + 3] = float.NaN;
        using var tx = device.FromArray(x, rows, n);
        using var fast = Tensor<int>.Zeros(device, rows, k);
        using var fastValues = device.Zeros(rows, k);
        using var twin = Tensor<int>.Zeros(device, rows, k);
        using var twinValues = device.Zeros(rows, k);
        Ops.TopK(tx, fast, fastValues);
        // On the CPU each kernel index ranks one whole row.
        device.Synchronize();
        for (int row = 0; row < rows; row++)
            Ops.TopKRanksPortable(tx.View, twin.View, twinValues.View, row * n, row * k, n, k, 0, n, 1);
        Check.Equal(fast.ToArray(), twin.ToArray(), $"fast vs twin indices (n {n}, k {k})");
        fastValues.ToArray().Should().Equal(twinValues.ToArray());
    }

    [Fact]
    public void Rejects_k_larger_than_the_row_and_mismatched_values()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(4, 10);
        using var big = Tensor<int>.Zeros(device, 4, 11);
        using var rows = Tensor<int>.Zeros(device, 3, 5);
        using var index = Tensor<int>.Zeros(device, 4, 5);
        using var values = device.Zeros(4, 6);
        var tooMany = () => Ops.TopK(x, big);
        tooMany.Should().Throw<ShapeMismatchException>().WithMessage("TopK: index has shape (4, 11); x (4, 10) needs*[1, 10].");
        var wrongRows = () => Ops.TopK(x, rows);
        wrongRows.Should().Throw<ShapeMismatchException>().WithMessage("*(3, 5)*(4, 10)*");
        var wrongValues = () => Ops.TopK(x, index, values);
        wrongValues.Should().Throw<ShapeMismatchException>().WithMessage("TopK: values has shape (4, 6), expected (4, 5).");
    }
}
