// Variable Proportional Attention's size bookkeeping (docs/methods.md, method 3): when Top-K drops token
// j, its size moves to kept tokens, so Σ size stays N0. Modes:
//   host (0):      to the kept token whose key (mean over heads) is most cosine-similar to j's
//                  (found beforehand by Ops.BestMatch)
//   attention (1): spread over the kept tokens in proportion to their importance scores
//   uniform (2):   spread evenly over the kept tokens
// CLS never receives size (it stands for no patch) and keeps its own. One kernel index per image, O(T).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

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

/// <summary>VPA's size bookkeeping on the device.</summary>
public static class SizeRedistribution
{
    /// <summary>
    /// New sizes (B, K + 1) of the kept tokens <paramref name="kept"/> (B, K + 1; CLS first, from KeptTokenIndex):
    /// their own <paramref name="sizes"/> (B, T) plus the sizes of the <paramref name="dropped"/> tokens (B, D), moved as
    /// <paramref name="mode"/> says. <paramref name="scores"/> (B, T − 1) are the importance scores of tokens 1..T−1;
    /// <paramref name="hosts"/> (B, D; kept rows in [1, K], from <see cref="Ops.BestMatch"/> with firstColumn 1) is needed in host mode only.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together.</exception>
    /// <exception cref="ArgumentNullException">Host mode without hosts.</exception>
    public static void RedistributeSizes(Tensor<float> sizes, Tensor<int> kept, Tensor<int> dropped, Tensor<float> scores, Tensor<int>? hosts,
        SizeMode mode, Tensor<float> newSizes)
    {
        Ops.OnOneDevice("RedistributeSizes", sizes, kept, dropped, scores, hosts, newSizes);
        ShapeMismatchException.Require(sizes.Shape.Rank == 2 && kept.Shape.Rank == 2 && kept.Shape[0] == sizes.Shape[0]
            && kept.Shape[1] < sizes.Shape[1] && kept.Shape[1] >= 2, "RedistributeSizes",
            $"sizes have shape {sizes.Shape} and kept {kept.Shape}; they need (B, T) and (B, K + 1) with 1 ≤ K < T − 1.");
        int b = sizes.Shape[0], t = sizes.Shape[1], k1 = kept.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "dropped", new Shape(b, t - k1), dropped.Shape);
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "scores", new Shape(b, t - 1), scores.Shape);
        ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "new sizes", kept.Shape, newSizes.Shape);
        if (mode == SizeMode.Host)
        {
            if (hosts is null) throw new ArgumentNullException(nameof(hosts), "RedistributeSizes: host mode needs the hosts of the dropped tokens.");
            ShapeMismatchException.ThrowIfDifferent("RedistributeSizes", "hosts", dropped.Shape, hosts.Shape);
        }
        var launch = sizes.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(
            RedistributeSizesKernel, group));
        launch(sizes.Device.Accelerator.DefaultStream, b, sizes.View, kept.View, dropped.View, scores.View, (hosts ?? dropped).View,
            newSizes.View, t, k1, (int)mode);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RedistributeSizesKernel(Index1D b, ArrayView<float> sizes, ArrayView<int> kept, ArrayView<int> dropped,
        ArrayView<float> scores, ArrayView<int> hosts, ArrayView<float> newSizes, int t, int k1, int mode)
    {
        int row = b * t, keptRow = b * k1, d = t - k1;
        for (int i = 0; i < k1; i++) newSizes[keptRow + i] = sizes[row + kept[keptRow + i]];
        if (mode == (int)SizeMode.Host)
        {
            for (int j = 0; j < d; j++) newSizes[keptRow + hosts[b * d + j]] += sizes[row + dropped[b * d + j]];
            return;
        }
        float moved = 0f, keptScore = 0f;
        for (int j = 0; j < d; j++) moved += sizes[row + dropped[b * d + j]];
        for (int i = 1; i < k1; i++) keptScore += scores[b * (t - 1) + kept[keptRow + i] - 1];
        bool uniform = mode == (int)SizeMode.Uniform || !(keptScore > 0f);
        for (int i = 1; i < k1; i++)
            newSizes[keptRow + i] += uniform ? moved / (k1 - 1) : moved * scores[b * (t - 1) + kept[keptRow + i] - 1] / keptScore;
    }
}
