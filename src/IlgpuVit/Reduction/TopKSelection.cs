// The selection step the Top-K family shares (Top-K, Top-K + VPA, EViT, eTPS): importance scores from
// the block's CLS attention, per-row top-k on the device, the kept rows (CLS first, kept tokens in token
// order) and the dropped ones (in token order); and the host search of VPA and eTPS (each dropped token's
// most similar kept token). The selection is scratch of the planner, freed on Dispose, except the kept
// rows when a plan takes them.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Reduction;

/// <summary>A Top-K selection: <see cref="Scores"/> (B, T − 1), <see cref="Kept"/> (B, K + 1), <see cref="Dropped"/> (B, T − 1 − K).</summary>
internal sealed class TopKSelection : IDisposable
{
    private bool _keptTaken;

    private TopKSelection(Tensor<float> scores, Tensor<int> kept, Tensor<int> dropped) => (Scores, Kept, Dropped) = (scores, kept, dropped);

    /// <summary>(B, T − 1): the importance score of tokens 1..T−1.</summary>
    public Tensor<float> Scores { get; }

    /// <summary>(B, K + 1): CLS, then the kept tokens in token order.</summary>
    public Tensor<int> Kept { get; }

    /// <summary>(B, T − 1 − K): the other tokens, in token order.</summary>
    public Tensor<int> Dropped { get; }

    /// <summary>Selects the <paramref name="keep"/> highest-scoring non-CLS tokens (1 ≤ keep &lt; T − 1).</summary>
    public static TopKSelection Select(in PlanningContext context, int keep)
    {
        var device = context.Device;
        int batch = context.Batch, tokens = context.Tokens;
        var selection = new TopKSelection(Tensor<float>.Empty(device, batch, tokens - 1), Tensor<int>.Empty(device, batch, keep + 1),
            Tensor<int>.Empty(device, batch, tokens - 1 - keep));
        using var selected = Tensor<int>.Empty(device, batch, keep);
        using var mask = Tensor<int>.Empty(device, batch, tokens);
        Ops.SelectTokens(context.Attention.RequireClsAttention(), selection.Scores, selected, mask, selection.Kept, selection.Dropped);
        return selection;
    }

    /// <summary>The kept rows, for a plan: this selection no longer frees them.</summary>
    public Tensor<int> TakeKept()
    {
        _keptTaken = true;
        return Kept;
    }

    /// <summary>
    /// The host of every dropped token among the kept rows 1..K (kept row index) by cosine of <paramref name="features"/>
    /// (B, T, F), and that cosine (Ops.BestMatch); <paramref name="normalized"/> says the rows already have unit norm.
    /// </summary>
    public HostMatch Hosts(Tensor<float> features, bool normalized)
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
        var match = new HostMatch(Tensor<int>.Empty(device, batch, d), Tensor<float>.Empty(device, batch, d), (double)d * (k1 - 1) * f);
        Ops.BestMatch(guests, hosts, firstRow: 0, firstColumn: 1, match.Index, match.Best);    // CLS (kept row 0) never hosts
        return match;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Scores.Dispose();
        Dropped.Dispose();
        if (!_keptTaken) Kept.Dispose();
    }
}

/// <summary>The hosts of the dropped tokens.</summary>
/// <param name="Index">(B, D): each dropped token's host, a kept row in [1, K].</param>
/// <param name="Best">(B, D): its cosine with the host.</param>
/// <param name="Macs">Multiply-accumulates per image of the search (docs/flops.md).</param>
internal sealed record HostMatch(Tensor<int> Index, Tensor<float> Best, double Macs) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose()
    {
        Index.Dispose();
        Best.Dispose();
    }
}
