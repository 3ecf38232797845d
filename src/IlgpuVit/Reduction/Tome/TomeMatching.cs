// ToMe's plan (docs/methods.md, method 6; Bolya et al., ICLR 2023). With A the even tokens (CLS at 0) and
// B the odd ones, partner[a] each A token's most similar B token by key cosine (Ops.BestMatch, which
// scores the CLS row −inf), the r A tokens with the best scores (Ops.TopK) merge into their
// partners: the plan keeps the unmerged A tokens in token order, then every B token, with each
// token's size as its weight (IndexPlan normalises: the size-weighted mean). One index per image.
// Source: ToMe, tome/merge.py (bipartite_soft_matching, merge_wavg). As merge.py does for a model
// with a class token (it sorts the unmerged indices), unmerged A tokens keep their token order
// (docs/methods.md), so CLS stays first. Without a class token (TomePlanInScoreOrder) merge.py leaves the
// unmerged A tokens in its argsort's order, best score first; that plan takes every A token by
// descending score and keeps that order (docs/methods.md, method 6).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>ToMe's plan builder on the device.</summary>
public static class TomeMatching
{
    /// <summary>
    /// Fills ToMe's token plan (T − r output rows) for T tokens: <paramref name="merged"/> (B, r) are the merging A
    /// tokens (indices into A, never 0: CLS), <paramref name="partner"/> (B, |A|) their B partners,
    /// <paramref name="sizes"/> (B, T) the weights; <paramref name="mask"/> (B, |A|) is scratch.
    /// Index it with <see cref="Ops.IndexPlan"/>, normalize on.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void TomePlan(Tensor<int> partner, Tensor<int> merged, Tensor<float> sizes, Tensor<int> mask,
        Tensor<int> destination, Tensor<float> weight)
    {
        Ops.OnOneDevice("TomePlan", partner, merged, sizes, mask, destination, weight);
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

    internal static void TomePlanKernel(Index1D b, ArrayView<int> partner, ArrayView<int> merged, ArrayView<float> sizes, ArrayView<int> mask,
        ArrayView<int> destination, ArrayView<float> weight, int t, int r)
    {
        int a = (t + 1) / 2, row = b * t;
        for (int i = 0; i < a; i++) mask[b * a + i] = 0;
        for (int k = 0; k < r; k++) mask[b * a + merged[b * r + k]] = 1;
        int unmerged = a - r, next = 0;
        for (int i = 0; i < a; i++)
            destination[row + 2 * i] = mask[b * a + i] == 0 ? next++ : unmerged + partner[b * a + i];
        for (int i = 0; 2 * i + 1 < t; i++) destination[row + 2 * i + 1] = unmerged + i;
        for (int j = 0; j < t; j++) weight[row + j] = sizes[row + j];
    }

    /// <summary>
    /// ToMe's plan without a class token (T − r output rows): <paramref name="order"/> (B, |A|) holds every A token by
    /// descending best score (<see cref="Ops.TopK"/> with k = |A|); the first <paramref name="r"/> merge into their
    /// <paramref name="partner"/> (B, |A|), the others go first in that order, then every B token;
    /// <paramref name="sizes"/> (B, T) are the weights. Index it with <see cref="Ops.IndexPlan"/>, normalize on.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit, or r is not in [0, |A|].</exception>
    public static void TomePlanInScoreOrder(Tensor<int> partner, Tensor<int> order, int r, Tensor<float> sizes, Tensor<int> destination, Tensor<float> weight)
    {
        Ops.OnOneDevice("TomePlanInScoreOrder", partner, order, sizes, destination, weight);
        ShapeMismatchException.Require(destination.Shape.Rank == 2 && destination.Shape[1] >= 2, "TomePlanInScoreOrder",
            $"destination has shape {destination.Shape}; it needs (B, T) with T ≥ 2.");
        int b = destination.Shape[0], t = destination.Shape[1], a = (t + 1) / 2;
        ShapeMismatchException.ThrowIfDifferent("TomePlanInScoreOrder", "partner", new Shape(b, a), partner.Shape);
        ShapeMismatchException.ThrowIfDifferent("TomePlanInScoreOrder", "order", new Shape(b, a), order.Shape);
        ShapeMismatchException.Require(r >= 0 && r <= t / 2, "TomePlanInScoreOrder", $"r is {r}; {t} tokens merge at most {t / 2}.");
        foreach (var (name, shape) in new[] { ("sizes", sizes.Shape), ("weight", weight.Shape) })
            ShapeMismatchException.ThrowIfDifferent("TomePlanInScoreOrder", name, destination.Shape, shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadImplicitlyGroupedKernel<
            Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(
            TomePlanInScoreOrderKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, partner.View, order.View, sizes.View, destination.View, weight.View, t, r);
    }

    internal static void TomePlanInScoreOrderKernel(Index1D b, ArrayView<int> partner, ArrayView<int> order, ArrayView<float> sizes,
        ArrayView<int> destination, ArrayView<float> weight, int t, int r)
    {
        int a = (t + 1) / 2, row = b * t, unmerged = a - r;
        for (int p = 0; p < a; p++)
        {
            int i = order[b * a + p];
            destination[row + 2 * i] = p < r ? unmerged + partner[b * a + i] : p - r;
        }
        for (int i = 0; 2 * i + 1 < t; i++) destination[row + 2 * i + 1] = unmerged + i;
        for (int j = 0; j < t; j++) weight[row + j] = sizes[row + j];
    }
}
