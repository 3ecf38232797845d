// EViT (methods.md, method 4; Liang et al., ICLR 2022): Top-K by CLS attention, and the dropped
// tokens fused into one extra token, Σ score_j x_j (not renormalised), appended last. The fused
// token counts toward the tokens kept, so a layer that removes R tokens keeps T − 1 − R − 1 by score
// plus the fused one (at least one by score). Sizes are carried: the fused token stands for the
// patches it absorbed.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>EViT's inattentive-token fusion at the rate of <see cref="Rate"/>.</summary>
public sealed class EvitReducer(ReductionRate rate) : ITokenReducer
{
    /// <summary>Tokens removed per layer.</summary>
    public ReductionRate Rate { get; } = rate;

    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        int batch = x.Shape[0], tokens = x.Shape[1];
        int removed = Rate.Removed(context.Layer, tokens);
        int keep = Math.Max(1, tokens - 2 - removed);
        if (removed == 0 || keep + 1 >= tokens - 1) return x;
        var selection = TopKSelection.Select(tape, context, keep);
        var plan = new TokenPlan(tape, x.Device, batch, tokens, keep + 2);
        Ops.EvitPlan(selection.Kept, selection.Dropped, selection.Scores, plan.Destination, plan.Weight);
        var sizes = ProportionalAttention.Sizes(tape, context.State, x.Device, batch, tokens);
        (x, context.State.Sizes) = plan.Apply(tape, x, sizes, normalize: false);
        return x;
    }
}
