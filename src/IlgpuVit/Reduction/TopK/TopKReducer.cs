// Top-K token pruning (methods.md, method 2): keep the non-CLS tokens with the highest importance
// score (mean over heads of the CLS attention of the same block) in their original order, drop the
// rest. The selection is a constant for autodiff; gradients flow through the kept rows (GatherRows).
// Sizes, when a merge method or VPA tracks them, are gathered with the tokens.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>Top-K pruning at the rate of <see cref="Rate"/>.</summary>
public sealed class TopKReducer(ReductionRate rate) : ITokenReducer
{
    /// <summary>Tokens removed per layer.</summary>
    public ReductionRate Rate { get; } = rate;

    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        int batch = x.Shape[0], tokens = x.Shape[1];
        int keep = tokens - 1 - Rate.Removed(context.Layer, tokens);
        if (keep == tokens - 1) return x;
        var selection = TopKSelection.Select(tape, context, keep);
        if (context.State.Sizes is { } sizes)
        {
            var keptSizes = tape.Keep(Tensor<float>.Empty(x.Device, batch, keep + 1));
            using (var sizes3 = sizes.Reshape(batch, tokens, 1))
            using (var kept3 = keptSizes.Reshape(batch, keep + 1, 1))
                Ops.GatherRows(sizes3, selection.Kept, kept3);
            context.State.Sizes = keptSizes;
        }
        return tape.GatherRows(x, selection.Kept);
    }
}
