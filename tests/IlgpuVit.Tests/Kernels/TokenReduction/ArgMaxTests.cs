using FluentAssertions;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Kernels.TokenReduction;

public class ArgMaxTests
{
    /// <summary>First index of the largest number; NaN loses to every number; an all-NaN row gives 0.</summary>
    public static int[] Reference(float[] x, int n)
    {
        var index = new int[x.Length / n];
        for (int r = 0; r < index.Length; r++)
        {
            int arg = -1;
            for (int j = 0; j < n; j++)
                if (!float.IsNaN(x[r * n + j]) && (arg < 0 || x[r * n + j] > x[r * n + arg])) arg = j;
            index[r] = Math.Max(arg, 0);
        }
        return index;
    }

    private static void Run(Device device, float[] x, int rows, int n, string what)
    {
        using var tx = device.FromArray(x, rows, n);
        using var index = Tensor<int>.Zeros(device, rows);
        Ops.ArgMax(tx, index);
        Check.Equal(index.ToArray(), Reference(x, n), $"argmax {what} ({rows}, {n})");
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Matches_reference_on_distinct_and_tied_values(string backend)
    {
        var device = Backends.Get(backend);
        foreach (var (rows, n) in new[] { (1, 1), (7, 7), (33, 31), (5, 32), (3, 33), (4, 197), (2, 385), (16, 1000) })
        {
            Run(device, TestData.Uniform(rows * 3 + n, rows * n), rows, n, "distinct");
            Run(device, TopKTests.Quantised(rows + n, rows * n), rows, n, "tied");
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Ignores_nan_and_gives_zero_for_an_all_nan_row(string backend)
    {
        var device = Backends.Get(backend);
        float nan = float.NaN, inf = float.NegativeInfinity;
        float[] x =
        [
            nan, 1f, 3f, nan, 3f,       // 2: first of the tied maxima after a leading NaN
            nan, nan, nan, nan, nan,    // 0: all NaN
            nan, -inf, nan, -inf, nan,  // 1: -inf beats NaN
            -0f, 0f, -1f, nan, 0f,      // 0: zeros of either sign tie
        ];
        using var tx = device.FromArray(x, 4, 5);
        using var index = Tensor<int>.Zeros(device, 4);
        Ops.ArgMax(tx, index);
        index.ToArray().Should().Equal(2, 0, 1, 0);

        // Long rows (vector path) with NaNs throughout, and a NaN-only long row.
        var y = TopKTests.Quantised(9, 4 * 197);
        for (int i = 0; i < y.Length; i += 7) y[i] = nan;
        for (int j = 0; j < 197; j++) y[3 * 197 + j] = nan;
        Run(device, y, 4, 197, "with NaN");
    }

    [Fact]
    public void Fast_row_matches_the_portable_twin()
    {
        var device = Backends.Cpu;
        int rows = 40, n = 83;
        var x = TopKTests.Quantised(21, rows * n);
        for (int i = 0; i < x.Length; i += 11) x[i] = float.NaN;
        using var tx = device.FromArray(x, rows, n);
        using var fast = Tensor<int>.Zeros(device, rows);
        using var twin = Tensor<int>.Zeros(device, rows);
        Ops.ArgMax(tx, fast);
        device.Synchronize();
        for (int row = 0; row < rows; row++) Ops.ArgMaxRowPortable(tx.View, twin.View, row * n, row, n);
        Check.Equal(fast.ToArray(), twin.ToArray(), "fast vs twin");
    }

    [Fact]
    public void Rejects_an_index_that_is_not_the_leading_shape()
    {
        var device = Backends.Cpu;
        using var x = device.Zeros(3, 4, 10);
        using var index = Tensor<int>.Zeros(device, 12);
        var act = () => Ops.ArgMax(x, index);
        act.Should().Throw<ShapeMismatchException>().WithMessage("ArgMax: index has shape (12), expected (3, 4).");
    }
}
