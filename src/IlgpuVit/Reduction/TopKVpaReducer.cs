// Top-K with Variable Proportional Attention (methods.md, method 3): Top-K selection, the sizes of
// dropped tokens moved to kept ones (Ops.RedistributeSizes: host / attention / uniform), and the key
// bias λ_l log(size) that the next block's attention adds. λ may be constant or a linear ramp from
// the first to the last layer. λ = 0 is exactly Top-K; the sizes always sum to the initial tokens.

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
    public float Lambda(int layer) => Depth <= 1 ? LambdaFirst : LambdaFirst + (LambdaLast - LambdaFirst) * layer / (Depth - 1);

    /// <inheritdoc/>
    public Variable Reduce(Tape tape, Variable x, in ReductionContext context)
    {
        int batch = x.Shape[0], tokens = x.Shape[1];
        int keep = tokens - 1 - Rate.Removed(context.Layer, tokens);
        var device = x.Device;
        var state = context.State;
        var sizes = state.Sizes ?? tape.Keep(Tensor<float>.FromArray(device, Init.Constant(batch * tokens, 1f), batch, tokens));
        if (keep < tokens - 1)
        {
            using var scores = Tensor<float>.Empty(device, batch, tokens - 1);
            var kept = TopKSelection.KeptRows(tape, context, keep, scores);
            var newSizes = tape.Keep(Tensor<float>.Empty(device, batch, keep + 1));
            int heads = context.Attention.Probabilities.Shape[1], d = x.Shape[2] / heads;
            using var isKept = Tensor<int>.Empty(device, batch, tokens);
            using var keys = Tensor<float>.Empty(device, batch, tokens, d + 1);
            Ops.RedistributeSizes(sizes, kept, scores, context.Attention.Qkv.Value, heads, Mode, isKept, keys, newSizes);
            x = tape.GatherRows(x, kept);
            sizes = newSizes;
        }
        state.Sizes = sizes;
        // The next block's attention adds λ log(size) to every logit of key j.
        var bias = tape.Keep(Tensor<float>.Empty(device, batch, sizes.Shape[1]));
        Ops.Map(sizes, bias, new ScaledLogOp(Lambda(Math.Min(context.Layer + 1, Depth - 1))));
        state.KeyBias = bias;
        return x;
    }
}
