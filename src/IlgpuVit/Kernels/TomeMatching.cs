// ToMe's bipartite soft matching (methods.md, method 6; Bolya et al., ICLR 2023). With A the even
// tokens (CLS at 0) and B the odd ones, similarity (B, |A|, |B|) their key cosines and partner[a] the
// best B token of each A token (Ops.ArgMax):
//   TomeBestScores: best[b, a - 1] = similarity[b, a, partner[a]] for a ≥ 1 (the CLS row never merges)
//   TomePlan:       the r A tokens with the highest best score (Ops.TopK on best) merge into their
//                   partners; the plan keeps the unmerged A tokens in token order, then every B token,
//                   with each token's size as its weight (IndexPlan normalises: size-weighted mean).
// One kernel index per block of A tokens (scores; one on GPUs) or per image (plan).
// Source: ToMe, tome/merge.py (bipartite_soft_matching, merge_wavg); unlike it, unmerged A tokens
// keep their token order (methods.md), so CLS stays first.

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// The best partner score of each non-CLS A token: <paramref name="best"/> (B, |A| − 1) from
    /// <paramref name="similarity"/> (B, |A|, |B|) and <paramref name="partner"/> (B, |A|).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void TomeBestScores(Tensor<float> similarity, Tensor<int> partner, Tensor<float> best)
    {
        OnOneDevice("TomeBestScores", similarity, partner, best);
        ShapeMismatchException.Require(similarity.Shape.Rank == 3 && similarity.Shape[1] >= 2, "TomeBestScores",
            $"similarity has shape {similarity.Shape}; it needs (B, |A|, |B|) with |A| ≥ 2.");
        int b = similarity.Shape[0], a = similarity.Shape[1];
        ShapeMismatchException.ThrowIfDifferent("TomeBestScores", "partner", new Shape(b, a), partner.Shape);
        ShapeMismatchException.ThrowIfDifferent("TomeBestScores", "best", new Shape(b, a - 1), best.Shape);
        int total = (int)best.Length, block = RowsPerIndex(best.Device, total);
        var launch = best.Device.Kernel(static (acc, group) => acc.LoadImplicitlyGroupedKernel<
            Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(TomeBestScoresKernel, group));
        launch(best.Device.Accelerator.DefaultStream, Blocks(total, block), similarity.View, partner.View, best.View, a, similarity.Shape[2], total, block);
    }

    /// <summary>
    /// Fills ToMe's token plan (T − r output rows) for T tokens: <paramref name="merged"/> (B, r) are the merging A
    /// tokens as indices into best (A token a − 1), <paramref name="partner"/> (B, |A|) their B partners,
    /// <paramref name="sizes"/> (B, T) the weights; <paramref name="mask"/> (B, |A|) is scratch.
    /// Index it with <see cref="IndexPlan"/>, normalize on.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void TomePlan(Tensor<int> partner, Tensor<int> merged, Tensor<float> sizes, Tensor<int> mask,
        Tensor<int> destination, Tensor<float> weight)
    {
        OnOneDevice("TomePlan", partner, merged, sizes, mask, destination, weight);
        ShapeMismatchException.Require(destination.Shape.Rank == 2 && destination.Shape[1] >= 2, "TomePlan",
            $"destination has shape {destination.Shape}; it needs (B, T) with T ≥ 2.");
        int b = destination.Shape[0], t = destination.Shape[1], a = (t + 1) / 2;
        ShapeMismatchException.ThrowIfDifferent("TomePlan", "partner", new Shape(b, a), partner.Shape);
        ShapeMismatchException.ThrowIfDifferent("TomePlan", "mask", new Shape(b, a), mask.Shape);
        ShapeMismatchException.Require(merged.Shape.Rank == 2 && merged.Shape[0] == b && merged.Shape[1] < a, "TomePlan",
            $"merged has shape {merged.Shape}; it needs ({b}, r) with r < {a}.");
        foreach (var (name, shape) in new[] { ("sizes", sizes.Shape), ("weight", weight.Shape) })
            ShapeMismatchException.ThrowIfDifferent("TomePlan", name, destination.Shape, shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadImplicitlyGroupedKernel<
            Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int, int>(
            TomePlanKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, partner.View, merged.View, sizes.View, mask.View, destination.View, weight.View,
            t, merged.Shape[1]);
    }

    internal static void TomeBestScoresKernel(Index1D index, ArrayView<float> similarity, ArrayView<int> partner, ArrayView<float> best, int a, int bs,
        int total, int perIndex)
    {
        for (int i = index * perIndex; i < Math.Min(total, (index + 1) * perIndex); i++)
        {
            int b = i / (a - 1), row = b * a + i % (a - 1) + 1;
            best[i] = similarity[(long)row * bs + partner[row]];
        }
    }

    internal static void TomePlanKernel(Index1D b, ArrayView<int> partner, ArrayView<int> merged, ArrayView<float> sizes, ArrayView<int> mask,
        ArrayView<int> destination, ArrayView<float> weight, int t, int r)
    {
        int a = (t + 1) / 2, row = b * t;
        for (int i = 0; i < a; i++) mask[b * a + i] = 0;
        for (int k = 0; k < r; k++) mask[b * a + merged[b * r + k] + 1] = 1;
        int unmerged = a - r, next = 0;
        for (int i = 0; i < a; i++)
            destination[row + 2 * i] = mask[b * a + i] == 0 ? next++ : unmerged + partner[b * a + i];
        for (int i = 0; 2 * i + 1 < t; i++) destination[row + 2 * i + 1] = unmerged + i;
        for (int j = 0; j < t; j++) weight[row + j] = sizes[row + j];
    }
}
