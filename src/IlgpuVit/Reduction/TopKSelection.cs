// The selection step the Top-K family shares (Top-K, Top-K + VPA, EViT, eTPS): importance scores
// from the block's CLS attention, per-row top-k on the device, the kept rows (CLS first, kept
// tokens in token order) and the dropped ones (in token order). All three tensors are owned by the
// tape: gathers and plans read them in backward.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>A Top-K selection: <paramref name="Scores"/> (B, T − 1), <paramref name="Kept"/> (B, K + 1), <paramref name="Dropped"/> (B, T − 1 − K).</summary>
internal sealed record TopKSelection(Tensor<float> Scores, Tensor<int> Kept, Tensor<int> Dropped)
{
    /// <summary>Selects the <paramref name="keep"/> highest-scoring non-CLS tokens (1 ≤ keep &lt; T − 1).</summary>
    public static TopKSelection Select(Tape tape, in ReductionContext context, int keep)
    {
        var probabilities = context.Attention.Probabilities;
        var device = probabilities.Device;
        int batch = probabilities.Shape[0], tokens = probabilities.Shape[3];
        var scores = tape.Keep(Tensor<float>.Empty(device, batch, tokens - 1));
        var kept = tape.Keep(Tensor<int>.Empty(device, batch, keep + 1));
        var dropped = tape.Keep(Tensor<int>.Empty(device, batch, tokens - 1 - keep));
        using var selected = Tensor<int>.Empty(device, batch, keep);
        using var mask = Tensor<int>.Empty(device, batch, tokens);
        Ops.SelectTokens(probabilities, scores, selected, mask, kept, dropped);
        return new TopKSelection(scores, kept, dropped);
    }

    /// <summary>
    /// The host of every dropped token among the kept rows 1..K (kept row index) by cosine of <paramref name="features"/>
    /// (B, T, F), and that cosine (Ops.BestMatch); <paramref name="normalized"/> says the rows already have unit norm.
    /// Adds the similarity's MACs per image to the state.
    /// </summary>
    public (Tensor<int> Hosts, Tensor<float> Best) Hosts(Tensor<float> features, bool normalized, TokenState state)
    {
        var device = features.Device;
        int batch = features.Shape[0], f = features.Shape[2], k1 = Kept.Shape[1], d = Dropped.Shape[1];
        using var guests = Tensor<float>.Empty(device, batch, d, f);
        using var hosts = Tensor<float>.Empty(device, batch, k1, f);
        Ops.GatherRows(features, Dropped, guests);
        Ops.GatherRows(features, Kept, hosts);
        if (!normalized)
        {
            Ops.NormalizeRows(guests, guests, eps: 1e-6f);
            Ops.NormalizeRows(hosts, hosts, eps: 1e-6f);
        }
        var host = Tensor<int>.Empty(device, batch, d);
        var best = Tensor<float>.Empty(device, batch, d);
        Ops.BestMatch(guests, hosts, firstRow: 0, firstColumn: 1, host, best);    // CLS (kept row 0) never hosts
        state.MethodMacs += (double)d * (k1 - 1) * f;
        return (host, best);
    }
}
