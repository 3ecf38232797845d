// eTPS (methods.md, method 5; Wei et al., CVPR 2023): Top-K by CLS attention splits the tokens into
// reserved and pruned ones; each pruned token is squeezed into its host, the reserved token with the
// most cosine-similar features (Ops.BestMatch; norms floored at 1e-6 where methods.md adds 1e-6,
// equal for any token that is not near zero), with weight exp(cos / tau) against the host's e.
// Only reserved tokens go on; the sizes of guests add to their host. The squeeze weights are
// constants for autodiff, like every selection here.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>eTPS's token pruning and squeezing at the rate of <see cref="Rate"/>.</summary>
/// <param name="Rate">Tokens removed per layer.</param>
/// <param name="Tau">Temperature of the squeeze weights exp(cos / tau).</param>
public sealed record EtpsReducer(ReductionRate Rate, float Tau = 1f) : ITokenReducer
{
    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        int batch = x.Shape[0], tokens = x.Shape[1];
        int keep = tokens - 1 - Rate.Removed(context.Layer, tokens);
        if (keep == tokens - 1) return x;
        var selection = TopKSelection.Select(tape, context, keep);
        var plan = new TokenPlan(tape, x.Device, batch, tokens, keep + 1);
        var (hosts, best) = selection.Hosts(x.Value, normalized: false, context.State);
        using (hosts)
        using (best)
            Ops.EtpsPlan(selection.Kept, selection.Dropped, hosts, best, Tau, plan.Destination, plan.Weight);
        var sizes = ProportionalAttention.Sizes(tape, context.State, x.Device, batch, tokens);
        (x, context.State.Sizes) = plan.Apply(tape, x, sizes, normalize: true);
        return x;
    }
}
