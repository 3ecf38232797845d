// ToMe's bipartite split: tokens at even positions form set A (CLS, at 0, among them), odd ones set B.
//   even[b, i, :] = x[b, 2i, :],   odd[b, i, :] = x[b, 2i + 1, :]
// One kernel index per `span` channels of a block of input rows (whole rows on the CPU, one channel
// of one row on GPUs).
// Source: ToMe, tome/merge.py (a, b = metric[..., ::2, :], metric[..., 1::2, :]).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Splits the rows of <paramref name="x"/> (B, T, C) by parity into <paramref name="even"/> (B, ⌈T/2⌉, C) and
    /// <paramref name="odd"/> (B, ⌊T/2⌋, C). T must be at least 2.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void SplitAlternate(Tensor<float> x, Tensor<float> even, Tensor<float> odd)
    {
        OnOneDevice("SplitAlternate", x, even, odd);
        ShapeMismatchException.Require(x.Shape.Rank == 3 && x.Shape[1] >= 2, "SplitAlternate",
            $"x has shape {x.Shape}; it needs (B, T, C) with T ≥ 2.");
        int b = x.Shape[0], t = x.Shape[1], c = x.Shape[2];
        ShapeMismatchException.ThrowIfDifferent("SplitAlternate", "even", new Shape(b, (t + 1) / 2, c), even.Shape);
        ShapeMismatchException.ThrowIfDifferent("SplitAlternate", "odd", new Shape(b, t / 2, c), odd.Shape);
        int span = RowSpan(x.Device, c), block = RowsPerIndex(x.Device, b * t);
        var launch = x.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(SplitAlternateKernel, group));
        launch(x.Device.Accelerator.DefaultStream, Blocks(b * t, block) * Spans(c, span), x.View, even.View, odd.View, t, c, span, b * t, block);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SplitAlternateKernel(Index1D i, ArrayView<float> x, ArrayView<float> even, ArrayView<float> odd, int t, int c, int span,
        int rows, int rowsPerIndex)
    {
        int spans = (c + span - 1) / span;
        int first = i / spans * rowsPerIndex, c0 = i % spans * span;
        int n = Math.Min(span, c - c0);
        for (int row = first; row < Math.Min(rows, first + rowsPerIndex); row++)
        {
            int b = row / t, j = row % t;
            if (j % 2 == 0) ScaleRow(x, even, row * c + c0, (b * ((t + 1) / 2) + j / 2) * c + c0, n, 1f, 0);
            else ScaleRow(x, odd, row * c + c0, (b * (t / 2) + j / 2) * c + c0, n, 1f, 0);
        }
    }
}
