// The selection step the Top-K family shares (Top-K, Top-K + VPA, later EViT and eTPS): importance
// scores from the block's CLS attention, per-row top-k on the device, and the kept-row index with
// CLS first and the kept tokens in their original order.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

internal static class TopKSelection
{
    /// <summary>
    /// Fills <paramref name="scores"/> (B, T − 1) and returns the index (B, <paramref name="keep"/> + 1) of the rows
    /// to keep, owned by <paramref name="tape"/> (the gather's backward reads it).
    /// </summary>
    public static Tensor<int> KeptRows(Tape tape, in ReductionContext context, int keep, Tensor<float> scores)
    {
        var probabilities = context.Attention.Probabilities;
        var device = probabilities.Device;
        int batch = probabilities.Shape[0], tokens = probabilities.Shape[3];
        using var selected = Tensor<int>.Empty(device, batch, keep);
        using var mask = Tensor<int>.Empty(device, batch, tokens);
        var kept = tape.Keep(Tensor<int>.Empty(device, batch, keep + 1));
        Ops.ClsAttentionScore(probabilities, scores);
        Ops.TopK(scores, selected);
        Ops.KeptTokenIndex(selected, mask, kept);
        return kept;
    }
}
