// EViT's plan (docs/methods.md, method 4): the kept rows (CLS first, from KeptTokenIndex) go on unchanged,
// and every dropped token j joins one fused token, the last row, with weight score_j:
//   fused = Σ_{j dropped} score_j x_j          (not renormalised)
// so the plan has K + 2 rows. CombineRows applies it. One kernel index per image.
// Source: EViT (Liang et al., ICLR 2022), the inattentive-token fusion.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>EViT's plan builder on the device.</summary>
public static class EvitFusion
{
    /// <summary>
    /// Fills the token plan of EViT: <paramref name="destination"/> and <paramref name="weight"/> (B, T) for the rows
    /// <paramref name="kept"/> (B, K + 1) and <paramref name="dropped"/> (B, T − 1 − K), with the importance
    /// <paramref name="scores"/> (B, T − 1) of tokens 1..T−1. The plan has K + 2 output rows, the fused token last.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void EvitPlan(Tensor<int> kept, Tensor<int> dropped, Tensor<float> scores, Tensor<int> destination, Tensor<float> weight)
    {
        Ops.OnOneDevice("EvitPlan", kept, dropped, scores, destination, weight);
        var (b, t) = Ops.PlanShapes("EvitPlan", kept, dropped, destination, weight);
        ShapeMismatchException.ThrowIfDifferent("EvitPlan", "scores", new Shape(b, t - 1), scores.Shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int>(EvitPlanKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, kept.View, dropped.View, scores.View, destination.View, weight.View,
            t, kept.Shape[1]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void EvitPlanKernel(Index1D b, ArrayView<int> kept, ArrayView<int> dropped, ArrayView<float> scores,
        ArrayView<int> destination, ArrayView<float> weight, int t, int k1)
    {
        int row = b * t;
        for (int i = 0; i < k1; i++)
        {
            destination[row + kept[b * k1 + i]] = i;
            weight[row + kept[b * k1 + i]] = 1f;
        }
        int d = t - k1;
        for (int j = 0; j < d; j++)
        {
            int token = dropped[b * d + j];
            destination[row + token] = k1;
            weight[row + token] = scores[b * (t - 1) + token - 1];
        }
    }
}
