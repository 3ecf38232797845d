// The token metric of ToMe and VPA's host search: each token's key averaged over heads,
//   keys[b, t, e] = (1/H) Σ_h qkv[b, t, C + h d + e]
// from the fused qkv projection (B, T, 3C) laid out [q | k | v], head h at columns h d .. h d + d;
// optionally L2-normalised (x / max(||x||, eps)), so that dots are cosines (Ops.BestMatch).
// One kernel index per block of tokens (one token on GPUs). Source: ToMe, tome/patch/timm.py
// (metric = k.mean(1)) and tome/merge.py (metric / metric.norm).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// Averages the keys of <paramref name="qkv"/> (B, T, 3C) over <paramref name="heads"/> heads into
    /// <paramref name="keys"/> (B, T, C / heads), L2-normalising each token's row when <paramref name="normalize"/>
    /// (a zero row stays zero).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit, or C is not a multiple of the heads.</exception>
    public static void HeadMeanKeys(Tensor<float> qkv, int heads, Tensor<float> keys, bool normalize = false)
    {
        OnOneDevice("HeadMeanKeys", qkv, keys);
        ShapeMismatchException.Require(qkv.Shape.Rank == 3 && heads >= 1 && qkv.Shape[2] % (3 * heads) == 0, "HeadMeanKeys",
            $"qkv has shape {qkv.Shape}; it needs (B, T, 3C) with C a multiple of {heads} heads.");
        int c = qkv.Shape[2] / 3, d = c / heads;
        ShapeMismatchException.ThrowIfDifferent("HeadMeanKeys", "keys", new Shape(qkv.Shape[0], qkv.Shape[1], d), keys.Shape);
        int rows = qkv.Shape[0] * qkv.Shape[1], block = RowsPerIndex(keys.Device, rows);
        var launch = keys.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, int, int, int>(HeadMeanKeysKernel, group));
        launch(keys.Device.Accelerator.DefaultStream, Blocks(rows, block), qkv.View, keys.View, c, heads, rows, block, normalize ? 1 : 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void HeadMeanKeysKernel(Index1D i, ArrayView<float> qkv, ArrayView<float> keys, int c, int heads, int rows, int rowsPerIndex,
        int normalize)
    {
        int first = i * rowsPerIndex;
        HeadMeanKeyRows(qkv, keys, first, Math.Min(rowsPerIndex, rows - first), heads, c / heads, normalize);
    }

    /// <summary>
    /// The keys of <paramref name="rows"/> tokens from row <paramref name="row0"/> of qkv (B·T rows of 3C) averaged over
    /// <paramref name="heads"/> heads of width <paramref name="d"/> into the same rows of keys (B·T rows of d), each
    /// L2-normalised when <paramref name="normalize"/>. The attention calls it for an image after its last head, ToMe's
    /// CPU matching for an image whose keys it was not given, HeadMeanKeys for its block of rows.
    /// </summary>
    // One call per block of rows, not per token: the rows are a pointer step apart.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(HeadMeanKeyRowsPortable))]
    internal static unsafe void HeadMeanKeyRows(ArrayView<float> qkv, ArrayView<float> keys, long row0, int rows, int heads, int d, int normalize)
    {
        if (d % 16 != 0)
        {
            HeadMeanKeyRowsPortable(qkv, keys, row0, rows, heads, d, normalize);
            return;
        }
        int c = heads * d;
        float* key = FastMath.Address(qkv, row0 * 3 * c + c), mean = FastMath.Address(keys, row0 * d);
        for (int j = 0; j < rows; j++, key += 3 * c, mean += d) HeadMeanKeyVectors(key, mean, heads, d, normalize);
    }

    // Whole 16-lane chunks: each is summed over the heads, scaled, stored and squared into the norm in one pass, the
    // same sums, products and rounding as SumRows then NormalizeRow, without their calls and the reload for the norm.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void HeadMeanKeyVectors(float* s, float* k, int heads, int d, int normalize)
    {
        var scale = Vector512.Create(1f / heads);
        var squares = Vector512<float>.Zero;
        for (int e = 0; e < d; e += 16)
        {
            var sum = Vector512.Load(s + e);
            for (int h = 1; h < heads; h++) sum += Vector512.Load(s + h * d + e);
            sum *= scale;
            sum.Store(k + e);
            squares = Vector512.FusedMultiplyAdd(sum, sum, squares);
        }
        if (normalize == 0) return;
        float norm = MathF.Sqrt(Vector512.Sum(squares));
        var inverse = Vector512.Create(1f / (norm < 1e-12f ? 1e-12f : norm));   // as MathF.Max(norm, eps), NaN kept
        for (int e = 0; e < d; e += 16) (Vector512.Load(k + e) * inverse).Store(k + e);
    }

    internal static void HeadMeanKeyRowsPortable(ArrayView<float> qkv, ArrayView<float> keys, long row0, int rows, int heads, int d, int normalize)
    {
        int c = heads * d;
        for (long row = row0; row < row0 + rows; row++)
        {
            SumRows(qkv, keys, row * 3 * c + c, d, heads, (int)(row * d), d, 1f / heads);
            if (normalize != 0) NormalizeRow(keys, keys, (int)(row * d), d, 1e-12f);
        }
    }
}
