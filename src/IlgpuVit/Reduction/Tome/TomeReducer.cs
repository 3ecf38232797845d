// ToMe (methods.md, method 6; Bolya et al., ICLR 2023): bipartite soft matching on the keys averaged
// over heads. A = even tokens (CLS among them), B = odd; each A token's best B partner by cosine
// (Ops.BestMatch, CLS excluded); the r A tokens with the best scores merge into their partners by size-weighted mean
// (sizes add); unmerged A tokens in order, then B. Proportional attention adds λ log(size) to the
// next block's logits (λ = 1 by default; 0 turns it off).

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>Token merging at the rate of <see cref="Rate"/> (ToMe's r, or any other rate).</summary>
/// <param name="Rate">Tokens merged away per layer (at most half the non-CLS tokens present).</param>
/// <param name="LambdaFirst">λ of proportional attention in the first block.</param>
/// <param name="LambdaLast">λ of the last block (equal to the first for a constant λ).</param>
/// <param name="Depth">Blocks of the model (for the ramp).</param>
public sealed record TomeReducer(ReductionRate Rate, float LambdaFirst = 1f, float LambdaLast = 1f, int Depth = 12) : ITokenReducer
{
    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        int batch = x.Shape[0], tokens = x.Shape[1];
        int a = (tokens + 1) / 2, b = tokens / 2;
        int r = Math.Min(Rate.Removed(context.Layer, tokens), a - 1);
        var device = x.Device;
        var state = context.State;
        var sizes = ProportionalAttention.Sizes(tape, state, device, batch, tokens);
        if (r > 0)
        {
            var qkv = context.Attention.Qkv.Value;
            int heads = context.Attention.Probabilities.Shape[1], d = qkv.Shape[2] / 3 / heads;
            using var keys = Tensor<float>.Empty(device, batch, tokens, d);
            using var keysA = Tensor<float>.Empty(device, batch, a, d);
            using var keysB = Tensor<float>.Empty(device, batch, b, d);
            using var partner = Tensor<int>.Empty(device, batch, a);
            using var best = Tensor<float>.Empty(device, batch, a);
            using var merged = Tensor<int>.Empty(device, batch, r);
            using var mask = Tensor<int>.Empty(device, batch, a);
            Ops.HeadMeanKeys(qkv, heads, keys, normalize: true);
            Ops.SplitAlternate(keys, keysA, keysB);
            Ops.BestMatch(keysA, keysB, firstRow: 1, firstColumn: 0, partner, best);     // CLS scores −inf: never merges
            Ops.TopK(best, merged);
            var plan = new TokenPlan(tape, device, batch, tokens, tokens - r);
            Ops.TomePlan(partner, merged, sizes, mask, plan.Destination, plan.Weight);
            (x, sizes) = plan.Apply(tape, x, sizes, normalize: true);
            state.MethodMacs += (double)(a - 1) * b * d;
        }
        ProportionalAttention.Set(tape, state, sizes, ProportionalAttention.Lambda(LambdaFirst, LambdaLast, Depth, context.Layer + 1));
        return x;
    }
}
