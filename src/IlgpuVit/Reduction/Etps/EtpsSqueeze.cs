// eTPS's plan (docs/methods.md, method 5; Wei et al., CVPR 2023): every dropped token j is squeezed into
// its host h(j), the kept token most similar to it (Ops.BestMatch; c_j = cos / tau), and each
// kept token i becomes
//   (e x_i + Σ_{j : h(j) = i} exp(c_j) x_j) / (e + Σ_{j : h(j) = i} exp(c_j))
// i.e. weight e for the host itself, exp(c_j) for each guest, normalised per output row by
// IndexPlan. A kept token with no guests gets e / e = 1 and is unchanged; CLS never hosts.
// One kernel index per image.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>eTPS's plan builder on the device.</summary>
public static class EtpsSqueeze
{
    /// <summary>
    /// Fills the (unnormalised) token plan of eTPS for the rows <paramref name="kept"/> (B, K + 1) and
    /// <paramref name="dropped"/> (B, D): <paramref name="destination"/> and <paramref name="weight"/> (B, T), from the
    /// dropped tokens' <paramref name="hosts"/> (B, D; kept rows in [1, K]) and their cosine <paramref name="best"/> (B, D),
    /// divided by <paramref name="tau"/>. Index it with <see cref="Ops.IndexPlan"/>, normalize on.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tau"/> is not positive.</exception>
    public static void EtpsPlan(Tensor<int> kept, Tensor<int> dropped, Tensor<int> hosts, Tensor<float> best, float tau,
        Tensor<int> destination, Tensor<float> weight)
    {
        Ops.OnOneDevice("EtpsPlan", kept, dropped, hosts, best, destination, weight);
        if (!(tau > 0f)) throw new ArgumentOutOfRangeException(nameof(tau), tau, "EtpsPlan: tau must be positive.");
        var (b, t) = Ops.PlanShapes("EtpsPlan", kept, dropped, destination, weight);
        ShapeMismatchException.ThrowIfDifferent("EtpsPlan", "hosts", dropped.Shape, hosts.Shape);
        ShapeMismatchException.ThrowIfDifferent("EtpsPlan", "best", dropped.Shape, best.Shape);
        var launch = weight.Device.Kernel(static (acc, group) => acc.LoadIndexKernel<
            ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, float>(
            EtpsPlanKernel, group));
        launch(weight.Device.Accelerator.DefaultStream, b, kept.View, dropped.View, hosts.View, best.View, destination.View, weight.View,
            t, kept.Shape[1], 1f / tau);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void EtpsPlanKernel(Index1D b, ArrayView<int> kept, ArrayView<int> dropped, ArrayView<int> hosts, ArrayView<float> best,
        ArrayView<int> destination, ArrayView<float> weight, int t, int k1, float inverseTau)
    {
        int row = b * t;
        for (int i = 0; i < k1; i++)
        {
            destination[row + kept[b * k1 + i]] = i;
            weight[row + kept[b * k1 + i]] = MathF.E;
        }
        int d = t - k1;
        for (int j = 0; j < d; j++)
        {
            int token = dropped[b * d + j];
            destination[row + token] = hosts[b * d + j];
            weight[row + token] = MathF.Exp(best[b * d + j] * inverseTau);
        }
    }
}
