// Token selection for the Top-K family (docs/methods.md): the importance score of each non-CLS token and
// the index of the tokens a block keeps.
//   ClsAttentionScore:  score[b, j - 1] = (1/H) Σ_h P[b, h, 0, j]      (CLS row of the attention, j ≥ 1)
// P may be the whole attention (B, H, T, T) or only its CLS rows (B, H, 1, T), what inference keeps.
//   KeptTokenIndex:     kept[b, :] = [0, sorted(selected[b, :]) + 1]  (CLS first, original order kept),
//                       and optionally dropped[b, :] = the other tokens, in order (merge sources, hosts' guests)
// Per-row top-k itself is Ops.TopK (ties to the lower index), so the whole selection runs on the
// device with no per-row trip to the host. KeptTokenIndex marks the chosen tokens in a per-row
// scratch mask and compacts it in token order: one kernel index per image, O(T), deterministic.
// SelectTokens is the three in order; on the CPU it runs them fused, one kernel index per image,
// since there each launch costs more than the work (the same row helpers, so the same results).

using IlgpuVit.Runtime;

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// The Top-K importance score: for <paramref name="probabilities"/> (B, H, T, T), or only their CLS rows (B, H, 1, T),
    /// <paramref name="scores"/> (B, T − 1) gets the mean over heads of the CLS query's attention to tokens 1..T−1.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, H, T, T) or (B, H, 1, T), and (B, T − 1).</exception>
    public static void ClsAttentionScore(Tensor<float> probabilities, Tensor<float> scores)
    {
        OnOneDevice("ClsAttentionScore", probabilities, scores);
        long headStride = ClsRowsStride("ClsAttentionScore", probabilities);
        var p = probabilities.Shape;
        ShapeMismatchException.ThrowIfDifferent("ClsAttentionScore", "scores", new Shape(p[0], p[3] - 1), scores.Shape);
        var launch = scores.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, int, int, int, long>(ClsAttentionScoreKernel, group));
        int span = scores.Device.UsesCpuFastPath ? p[3] - 1 : 1;
        launch(scores.Device.Accelerator.DefaultStream, p[0] * Spans(p[3] - 1, span), probabilities.View, scores.View, p[1], p[3], span,
            headStride);
    }

    // The distance between two heads' CLS rows: T² in the whole attention (B, H, T, T), T in its CLS rows (B, H, 1, T).
    private static long ClsRowsStride(string op, Tensor<float> probabilities)
    {
        var p = probabilities.Shape;
        ShapeMismatchException.Require(p.Rank == 4 && (p[2] == p[3] || p[2] == 1) && p[3] >= 2, op,
            $"probabilities have shape {p}; they need (B, H, T, T) or their CLS rows (B, H, 1, T), with T ≥ 2.");
        return (long)p[2] * p[3];
    }

    /// <summary>
    /// The rows a block keeps: <paramref name="kept"/> (B, K + 1) = CLS (0), then the tokens of
    /// <paramref name="selected"/> (B, K; indices among the T − 1 non-CLS tokens, distinct) shifted by one, in token order.
    /// <paramref name="mask"/> (B, T) is scratch. <paramref name="dropped"/> (B, T − 1 − K), when given, receives the
    /// tokens not kept, in token order.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, K), (B, T), (B, K + 1) and (B, T − 1 − K) with K &lt; T.</exception>
    public static void KeptTokenIndex(Tensor<int> selected, Tensor<int> mask, Tensor<int> kept, Tensor<int>? dropped = null)
    {
        OnOneDevice("KeptTokenIndex", selected, mask, kept, dropped ?? kept);
        ShapeMismatchException.Require(selected.Shape.Rank == 2 && mask.Shape.Rank == 2 && selected.Shape[0] == mask.Shape[0]
            && selected.Shape[1] < mask.Shape[1], "KeptTokenIndex",
            $"selected has shape {selected.Shape} and mask {mask.Shape}; they need (B, K) and (B, T) with K < T.");
        int batch = selected.Shape[0], k = selected.Shape[1], tokens = mask.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("KeptTokenIndex", "kept", new Shape(batch, k + 1), kept.Shape);
        if (dropped is not null)
            ShapeMismatchException.ThrowIfDifferent("KeptTokenIndex", "dropped", new Shape(batch, tokens - 1 - k), dropped.Shape);
        var launch = kept.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int>(KeptTokenIndexKernel, group));
        launch(kept.Device.Accelerator.DefaultStream, batch, selected.View, mask.View, kept.View, (dropped ?? kept).View, k, tokens,
            dropped is null ? 0 : 1);
    }

    // One index per `span` scores of one image: the whole row on the CPU (Vector512 sums of the heads'
    // CLS rows), one score on GPUs.
    /// <summary>
    /// The whole Top-K selection: <paramref name="scores"/> (B, T − 1) from <paramref name="probabilities"/> (B, H, T, T) or
    /// their CLS rows (B, H, 1, T),
    /// the top K into <paramref name="selected"/> (B, K), and the kept rows (B, K + 1) and dropped tokens (B, T − 1 − K)
    /// as <see cref="KeptTokenIndex"/> gives them; <paramref name="mask"/> (B, T) is scratch.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void SelectTokens(Tensor<float> probabilities, Tensor<float> scores, Tensor<int> selected, Tensor<int> mask, Tensor<int> kept,
        Tensor<int> dropped)
    {
        var device = OnOneDevice("SelectTokens", probabilities, scores, selected, mask, kept, dropped);
        if (!device.UsesCpuFastPath)
        {
            ClsAttentionScore(probabilities, scores);
            TopK(scores, selected);
            KeptTokenIndex(selected, mask, kept, dropped);
            return;
        }
        long headStride = ClsRowsStride("SelectTokens", probabilities);
        var p = probabilities.Shape;
        int b = p[0], t = p[3], k = selected.Shape.Rank == 2 ? selected.Shape[1] : 0;
        ShapeMismatchException.ThrowIfDifferent("SelectTokens", "scores", new Shape(b, t - 1), scores.Shape);
        ShapeMismatchException.Require(selected.Shape.Rank == 2 && selected.Shape[0] == b && k >= 1 && k < t - 1, "SelectTokens",
            $"selected has shape {selected.Shape}; it needs ({b}, K) with 1 ≤ K < {t - 1}.");
        ShapeMismatchException.ThrowIfDifferent("SelectTokens", "mask", new Shape(b, t), mask.Shape);
        ShapeMismatchException.ThrowIfDifferent("SelectTokens", "kept", new Shape(b, k + 1), kept.Shape);
        ShapeMismatchException.ThrowIfDifferent("SelectTokens", "dropped", new Shape(b, t - 1 - k), dropped.Shape);
        var launch = device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, int, int, int, long>(
            SelectTokensKernel, group));
        launch(device.Accelerator.DefaultStream, b, probabilities.View, scores.View, selected.View, mask.View, kept.View, dropped.View, p[1], t, k,
            headStride);
    }

    // CPU only: one index per image runs the score, top-k and index kernels' row work in order.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SelectTokensKernel(Index1D b, ArrayView<float> probabilities, ArrayView<float> scores, ArrayView<int> selected,
        ArrayView<int> mask, ArrayView<int> kept, ArrayView<int> dropped, int heads, int tokens, int k, long headStride)
    {
        int image = b;
        SumRows(probabilities, scores, image * heads * headStride + 1, headStride, heads, b * (tokens - 1), tokens - 1, 1f / heads);
        TopKRanks(scores, selected, scores, image * (tokens - 1), image * k, tokens - 1, k, 0, tokens - 1, 0);
        KeptTokenIndexKernel(b, selected, mask, kept, dropped, k, tokens, 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void ClsAttentionScoreKernel(Index1D i, ArrayView<float> probabilities, ArrayView<float> scores, int heads, int tokens, int span,
        long headStride)
    {
        int spans = (tokens - 1 + span - 1) / span;
        int b = i / spans, j0 = i % spans * span;
        long clsRow = b * heads * headStride + 1 + j0;      // row 0 of head 0, token j0 + 1
        SumRows(probabilities, scores, clsRow, headStride, heads, b * (tokens - 1) + j0, Math.Min(span, tokens - 1 - j0), 1f / heads);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KeptTokenIndexKernel(Index1D b, ArrayView<int> selected, ArrayView<int> mask, ArrayView<int> kept, ArrayView<int> dropped,
        int k, int tokens, int writeDropped)
    {
        int row = b * tokens;
        for (int t = 0; t < tokens; t++) mask[row + t] = 0;
        mask[row] = 1;                                               // CLS always stays
        for (int i = 0; i < k; i++)
        {
            int j = selected[b * k + i] + 1;
            if (j >= 1 && j < tokens) mask[row + j] = 1;
        }
        int next = b * (k + 1), other = b * (tokens - 1 - k);
        for (int t = 0; t < tokens; t++)
        {
            if (mask[row + t] != 0) kept[next++] = t;
            else if (writeDropped != 0) dropped[other++] = t;
        }
    }
}
