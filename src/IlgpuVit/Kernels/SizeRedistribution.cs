// Variable Proportional Attention's size bookkeeping (methods.md, method 3): when Top-K drops token
// j, its size moves to kept tokens, so Σ size stays N0. Modes:
//   host (0):      to the kept token whose key (mean over heads) is most cosine-similar to j's
//                  (ties to the lower index)
//   attention (1): spread over the kept tokens in proportion to their importance scores
//   uniform (2):   spread evenly over the kept tokens
// CLS never receives size (it stands for no patch) and keeps its own. One kernel index per image:
// host mode first sums each token's key over heads into scratch, with its norm (O(T d H)), then
// scores every dropped token against every kept one (O(dropped x kept x d)); the other modes are O(T).

namespace IlgpuVit.Kernels;

/// <summary>Where VPA moves the sizes of dropped tokens.</summary>
public enum SizeMode
{
    /// <summary>To the kept token with the most similar key (the default).</summary>
    Host,
    /// <summary>Over the kept tokens in proportion to their scores.</summary>
    Attention,
    /// <summary>Evenly over the kept tokens.</summary>
    Uniform,
}

public static partial class Ops
{
    /// <summary>
    /// New sizes (B, K + 1) of the kept tokens <paramref name="kept"/> (B, K + 1; CLS first, from KeptTokenIndex):
    /// their own <paramref name="sizes"/> (B, T) plus the sizes of the dropped tokens, moved as
    /// <paramref name="mode"/> says. <paramref name="scores"/> (B, T − 1) are the importance scores of tokens 1..T−1;
    /// <paramref name="qkv"/> (B, T, 3C) gives the keys (host mode), with <paramref name="heads"/> heads;
    /// <paramref name="isKept"/> (B, T) and <paramref name="keys"/> (B, T, d + 1) are scratch.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together.</exception>
    public static void RedistributeSizes(Tensor<float> sizes, Tensor<int> kept, Tensor<float> scores, Tensor<float> qkv, int heads,
        SizeMode mode, Tensor<int> isKept, Tensor<float> keys, Tensor<float> newSizes)
    {
        OnOneDevice("RedistributeSizes", sizes, kept, scores, qkv, isKept, keys, newSizes);
        ShapeMismatchException.Require(sizes.Shape.Rank == 2 && kept.Shape.Rank == 2 && kept.Shape[0] == sizes.Shape[0]
            && kept.Shape[1] <= sizes.Shape[1] && kept.Shape[1] >= 2, "RedistributeSizes",
            $"sizes have shape {sizes.Shape} and kept {kept.Shape}; they need (B, T) and (B, K + 1) with 1 ≤ K < T.");
        int b = sizes.Shape[0], t = sizes.Shape[1], k1 = kept.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "scores", new Shape(b, t - 1), scores.Shape);
        ShapeMismatchException.Require(qkv.Shape.Rank == 3 && qkv.Shape[0] == b && qkv.Shape[1] == t && qkv.Shape[2] % (3 * heads) == 0,
            "RedistributeSizes", $"qkv has shape {qkv.Shape}; it needs ({b}, {t}, 3C) with C a multiple of {heads} heads.");
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "scratch", sizes.Shape, isKept.Shape);
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "new sizes", kept.Shape, newSizes.Shape);
        int d = qkv.Shape[2] / 3 / heads;
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "key scratch", new Shape(b, t, d + 1), keys.Shape);
        var launch = sizes.Device.Kernel(static (acc, group) => acc.LoadImplicitlyGroupedKernel<
            Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>,
            int, int, int, int, int>(RedistributeSizesKernel, group));
        launch(sizes.Device.Accelerator.DefaultStream, b, sizes.View, kept.View, scores.View, qkv.View, isKept.View, keys.View, newSizes.View,
            t, k1, qkv.Shape[2] / 3, heads, (int)mode);
    }

    internal static void RedistributeSizesKernel(Index1D b, ArrayView<float> sizes, ArrayView<int> kept, ArrayView<float> scores,
        ArrayView<float> qkv, ArrayView<int> isKept, ArrayView<float> keys, ArrayView<float> newSizes, int t, int k1, int c, int heads, int mode)
    {
        int row = b * t, keptRow = b * k1;
        for (int j = 0; j < t; j++) isKept[row + j] = 0;
        for (int i = 0; i < k1; i++)
        {
            isKept[row + kept[keptRow + i]] = 1;
            newSizes[keptRow + i] = sizes[row + kept[keptRow + i]];
        }
        float dropped = 0f, keptScore = 0f;
        for (int j = 1; j < t; j++)
            if (isKept[row + j] == 0) dropped += sizes[row + j];
        for (int i = 1; i < k1; i++) keptScore += scores[b * (t - 1) + kept[keptRow + i] - 1];
        if (mode == (int)SizeMode.Uniform || (mode == (int)SizeMode.Attention && !(keptScore > 0f)))
        {
            for (int i = 1; i < k1; i++) newSizes[keptRow + i] += dropped / (k1 - 1);
            return;
        }
        if (mode == (int)SizeMode.Attention)
        {
            for (int i = 1; i < k1; i++) newSizes[keptRow + i] += dropped * scores[b * (t - 1) + kept[keptRow + i] - 1] / keptScore;
            return;
        }
        // Host: cosine of the head-averaged keys (the 1/H of the mean cancels in the cosine). Each token's
        // head-summed key goes to keys[b, j, 0..d-1] and its norm to keys[b, j, d].
        int d = c / heads, stride = 3 * c;
        for (int j = 1; j < t; j++)
        {
            long from = (long)(row + j) * stride + c, to = (long)(row + j) * (d + 1);
            float norm = 0f;
            for (int e = 0; e < d; e++)
            {
                float a = 0f;
                for (int h = 0; h < heads; h++) a += qkv[from + h * d + e];
                keys[to + e] = a;
                norm += a * a;
            }
            keys[to + d] = MathF.Sqrt(norm);
        }
        for (int j = 1; j < t; j++)
        {
            if (isKept[row + j] != 0) continue;
            long kj = (long)(row + j) * (d + 1);
            float best = float.NegativeInfinity;
            int host = 1;
            for (int i = 1; i < k1; i++)
            {
                long ki = (long)(row + kept[keptRow + i]) * (d + 1);
                float dot = 0f;
                for (int e = 0; e < d; e++) dot += keys[kj + e] * keys[ki + e];
                float cosine = dot / (keys[kj + d] * keys[ki + d] + 1e-6f);
                if (cosine > best) { best = cosine; host = i; }
            }
            newSizes[keptRow + host] += sizes[row + j];
        }
    }
}
