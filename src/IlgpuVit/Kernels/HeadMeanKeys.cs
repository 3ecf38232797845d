// The token metric of ToMe and VPA's host search: each token's key averaged over heads,
//   keys[b, t, e] = (1/H) Σ_h qkv[b, t, C + h d + e]
// from the fused qkv projection (B, T, 3C) laid out [q | k | v], head h at columns h d .. h d + d.
// One kernel index per `span` channels of a block of tokens: whole key rows on the CPU (Vector512
// sums over heads), one channel of one token on GPUs. Source: ToMe, tome/patch/timm.py (metric = k.mean(1)).

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Averages the keys of <paramref name="qkv"/> (B, T, 3C) over <paramref name="heads"/> heads into
    /// <paramref name="keys"/> (B, T, C / heads).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit, or C is not a multiple of the heads.</exception>
    public static void HeadMeanKeys(Tensor<float> qkv, int heads, Tensor<float> keys)
    {
        OnOneDevice("HeadMeanKeys", qkv, keys);
        ShapeMismatchException.Require(qkv.Shape.Rank == 3 && heads >= 1 && qkv.Shape[2] % (3 * heads) == 0, "HeadMeanKeys",
            $"qkv has shape {qkv.Shape}; it needs (B, T, 3C) with C a multiple of {heads} heads.");
        int c = qkv.Shape[2] / 3, d = c / heads;
        ShapeMismatchException.ThrowIfDifferent("HeadMeanKeys", "keys", new Shape(qkv.Shape[0], qkv.Shape[1], d), keys.Shape);
        int rows = qkv.Shape[0] * qkv.Shape[1], span = RowSpan(keys.Device, d), block = RowsPerIndex(keys.Device, rows);
        var launch = keys.Device.Kernel(static (acc, group) => acc.LoadImplicitlyGroupedKernel<
            Index1D, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(HeadMeanKeysKernel, group));
        launch(keys.Device.Accelerator.DefaultStream, Blocks(rows, block) * Spans(d, span), qkv.View, keys.View, c, heads, span, rows, block);
    }

    internal static void HeadMeanKeysKernel(Index1D i, ArrayView<float> qkv, ArrayView<float> keys, int c, int heads, int span, int rows,
        int rowsPerIndex)
    {
        int d = c / heads, spans = (d + span - 1) / span;
        int first = i / spans * rowsPerIndex, e0 = i % spans * span;
        int n = Math.Min(span, d - e0);
        float scale = 1f / heads;
        for (int row = first; row < Math.Min(rows, first + rowsPerIndex); row++)
            for (int h = 0; h < heads; h++)
                ScaleRow(qkv, keys, row * 3 * c + c + h * d + e0, row * d + e0, n, scale, h == 0 ? 0 : 1);
    }
}
