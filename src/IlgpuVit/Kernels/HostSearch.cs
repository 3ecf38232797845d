// The host of each dropped token (eTPS's squeeze, VPA's host mode): the kept token most similar to it.
// Given similarity[b, j, i] between dropped token j and kept row i (row 0 is CLS, which never hosts:
// it stands for no patch), host[b, j] = argmax over i ≥ 1 (ties to the lower index), best[b, j] its
// similarity. One kernel index per block of dropped tokens (one on GPUs); the argmax is ArgMax's row scan. The similarity
// itself is one batched GEMM (Ops.CosineSimilarity), which keeps the search off scalar loops.

namespace IlgpuVit.Kernels;

public static partial class Ops
{
    /// <summary>
    /// For <paramref name="similarity"/> (B, D, K + 1) between D dropped tokens and the K + 1 kept rows (CLS first),
    /// writes each dropped token's host row in [1, K] to <paramref name="hosts"/> (B, D) and that similarity to
    /// <paramref name="best"/> (B, D). K must be at least 1.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public static void HostOfDropped(Tensor<float> similarity, Tensor<int> hosts, Tensor<float> best)
    {
        OnOneDevice("HostOfDropped", similarity, hosts, best);
        ShapeMismatchException.Require(similarity.Shape.Rank == 3 && similarity.Shape[2] >= 2, "HostOfDropped",
            $"similarity has shape {similarity.Shape}; it needs (B, D, K + 1) with K ≥ 1.");
        var rows = new Shape(similarity.Shape[0], similarity.Shape[1]);
        ShapeMismatchException.ThrowIfDifferent("HostOfDropped", "hosts", rows, hosts.Shape);
        ShapeMismatchException.ThrowIfDifferent("HostOfDropped", "best", rows, best.Shape);
        int total = (int)hosts.Length, block = RowsPerIndex(hosts.Device, total);
        var launch = hosts.Device.Kernel(static (acc, group) => acc.LoadImplicitlyGroupedKernel<
            Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(HostOfDroppedKernel, group));
        launch(hosts.Device.Accelerator.DefaultStream, Blocks(total, block), similarity.View, hosts.View, best.View, similarity.Shape[2], total, block);
    }

    internal static void HostOfDroppedKernel(Index1D i, ArrayView<float> similarity, ArrayView<int> hosts, ArrayView<float> best, int kept,
        int total, int perIndex)
    {
        for (int j = i * perIndex; j < Math.Min(total, (i + 1) * perIndex); j++)
        {
            int offset = j * kept;
            ArgMaxRow(similarity, hosts, offset + 1, j, kept - 1);
            int host = hosts[j] + 1;
            hosts[j] = host;
            best[j] = similarity[offset + host];
        }
    }
}
