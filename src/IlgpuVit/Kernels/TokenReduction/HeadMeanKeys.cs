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
        int d = c / heads;
        for (int row = i * rowsPerIndex; row < Math.Min(rows, (i + 1) * rowsPerIndex); row++)
            HeadMeanKeyRow(qkv, keys, (long)row * 3 * c + c, heads, d, row * d, normalize);
    }

    /// <summary>
    /// One token's key averaged over <paramref name="heads"/> heads of width <paramref name="d"/> (qkv from
    /// <paramref name="srcOffset"/>) into keys at <paramref name="dstOffset"/>, L2-normalised when <paramref name="normalize"/>.
    /// </summary>
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(HeadMeanKeyRowPortable))]
    internal static unsafe void HeadMeanKeyRow(ArrayView<float> qkv, ArrayView<float> keys, long srcOffset, int heads, int d, int dstOffset,
        int normalize)
    {
        if (d % 16 != 0) HeadMeanKeyRowPortable(qkv, keys, srcOffset, heads, d, dstOffset, normalize);
        else HeadMeanKeyVectors(FastMath.Address(qkv, srcOffset), FastMath.Address(keys, dstOffset), heads, d, normalize);
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

    /// <summary>
    /// One image's normalised head-mean keys, split as ToMe splits its tokens: token j of the image's <paramref name="tokens"/>
    /// (qkv rows from <paramref name="qkvRow0"/>) goes to row aRow0 + j / 2 of <paramref name="keysA"/> when j is even, to row
    /// bRow0 + j / 2 of <paramref name="keysB"/> when odd; each as <see cref="HeadMeanKeyRow"/> gives it.
    /// </summary>
    // One call per image instead of one per token: the tokens' rows are a pointer step apart.
    [IntrinsicImplementation, MethodImpl(MethodImplOptions.AggressiveOptimization), PortableTwin(nameof(HeadMeanKeysSplitPortable))]
    internal static unsafe void HeadMeanKeysSplit(ArrayView<float> qkv, ArrayView<float> keysA, ArrayView<float> keysB, long qkvRow0, int tokens,
        int heads, int d, int aRow0, int bRow0)
    {
        if (d % 16 != 0)
        {
            HeadMeanKeysSplitPortable(qkv, keysA, keysB, qkvRow0, tokens, heads, d, aRow0, bRow0);
            return;
        }
        int c = heads * d;
        float* key = FastMath.Address(qkv, qkvRow0 * 3 * c + c);
        float* a = FastMath.Address(keysA, (long)aRow0 * d), b = FastMath.Address(keysB, (long)bRow0 * d);
        for (int j = 0; j < tokens; j++, key += 3 * c)
            HeadMeanKeyVectors(key, (j % 2 == 0 ? a : b) + (long)(j / 2) * d, heads, d, 1);
    }

    internal static void HeadMeanKeysSplitPortable(ArrayView<float> qkv, ArrayView<float> keysA, ArrayView<float> keysB, long qkvRow0, int tokens,
        int heads, int d, int aRow0, int bRow0)
    {
        int c = heads * d;
        for (int j = 0; j < tokens; j++)     // the twin, not the helper: GPU code generation follows redirects two levels deep
            HeadMeanKeyRowPortable(qkv, j % 2 == 0 ? keysA : keysB, (qkvRow0 + j) * 3 * c + c, heads, d, ((j % 2 == 0 ? aRow0 : bRow0) + j / 2) * d, 1);
    }

    internal static void HeadMeanKeyRowPortable(ArrayView<float> qkv, ArrayView<float> keys, long srcOffset, int heads, int d, int dstOffset,
        int normalize)
    {
        SumRows(qkv, keys, srcOffset, d, heads, dstOffset, d, 1f / heads);
        if (normalize != 0) NormalizeRow(keys, keys, dstOffset, d, 1e-12f);
    }
}
