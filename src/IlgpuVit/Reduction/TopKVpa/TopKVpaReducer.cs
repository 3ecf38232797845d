// Top-K with Variable Proportional Attention (methods.md, method 3): Top-K selection, the sizes of
// dropped tokens moved to kept ones (host: the kept token with the most similar head-averaged key,
// Ops.BestMatch; attention; uniform), and the key bias λ_l log(size) that the next
// block's attention adds. λ may be constant or a linear ramp from the first to the last layer.
// λ = 0 is exactly Top-K; the sizes always sum to the initial tokens.

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

/// <summary>Top-K pruning with size-weighted (proportional) attention.</summary>
/// <param name="Rate">Tokens removed per layer.</param>
/// <param name="LambdaFirst">λ of the first block.</param>
/// <param name="LambdaLast">λ of the last block (equal to the first for a constant λ).</param>
/// <param name="Mode">Where dropped sizes go.</param>
/// <param name="Depth">Blocks of the model (for the ramp).</param>
public sealed record TopKVpaReducer(ReductionRate Rate, float LambdaFirst = 1f, float LambdaLast = 1f, SizeMode Mode = SizeMode.Host, int Depth = 12)
    : ITokenReducer
{
    /// <summary>λ of block <paramref name="layer"/>.</summary>
    public float Lambda(int layer) => ProportionalAttention.Lambda(LambdaFirst, LambdaLast, Depth, layer);

    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        int batch = x.Shape[0], tokens = x.Shape[1];
        int keep = tokens - 1 - Rate.Removed(context.Layer, tokens);
        var device = x.Device;
        var state = context.State;
        var sizes = ProportionalAttention.Sizes(tape, state, device, batch, tokens);
        if (keep < tokens - 1)
        {
            var selection = TopKSelection.Select(tape, context, keep);
            var newSizes = tape.Keep(Tensor<float>.Empty(device, batch, keep + 1));
            if (Mode == SizeMode.Host)
            {
                var qkv = context.Attention.Qkv.Value;
                int heads = context.Attention.Probabilities.Shape[1];
                using var keys = Tensor<float>.Empty(device, batch, tokens, qkv.Shape[2] / 3 / heads);
                Ops.HeadMeanKeys(qkv, heads, keys, normalize: true);
                var (hosts, best) = selection.Hosts(keys, normalized: true, state);
                using (hosts)
                using (best)
                    Ops.RedistributeSizes(sizes, selection.Kept, selection.Dropped, selection.Scores, hosts, Mode, newSizes);
            }
            else
                Ops.RedistributeSizes(sizes, selection.Kept, selection.Dropped, selection.Scores, null, Mode, newSizes);
            x = tape.GatherRows(x, selection.Kept);
            sizes = newSizes;
        }
        // The next block's attention adds λ log(size) to every logit of key j.
        ProportionalAttention.Set(tape, state, sizes, Lambda(context.Layer + 1));
        return x;
    }
}
