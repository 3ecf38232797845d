// Token sizes and proportional attention, shared by the methods that track sizes (VPA, eTPS, ToMe,
// EViT): sizes start at one patch per token, and attention in the next block adds λ log(size_j) to
// every logit of key j (λ = 1: ToMe's proportional attention; λ may ramp over depth).

using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Reduction;

internal static class ProportionalAttention
{
    /// <summary>The state's sizes (B, T), or ones when no reducer has set them yet.</summary>
    public static Tensor<float> Sizes(Tape tape, TokenState state, Device device, int batch, int tokens) =>
        state.Sizes ?? tape.Keep(Tensor<float>.FromArray(device, Init.Constant(batch * tokens, 1f), batch, tokens));

    /// <summary>λ of block <paramref name="layer"/> on a linear ramp from <paramref name="first"/> (block 0) to <paramref name="last"/>.</summary>
    public static float Lambda(float first, float last, int depth, int layer) =>
        depth <= 1 ? first : first + (last - first) * Math.Min(layer, depth - 1) / (depth - 1);

    /// <summary>Stores <paramref name="sizes"/> and, unless λ is 0, the key bias λ log(size) the next block's attention adds.</summary>
    public static void Set(Tape tape, TokenState state, Tensor<float> sizes, float lambda)
    {
        state.Sizes = sizes;
        if (lambda == 0f)
        {
            state.KeyBias = null;
            return;
        }
        var bias = tape.Keep(Tensor<float>.Empty(sizes.Device, sizes.Shape[0], sizes.Shape[1]));
        Ops.Map(sizes, bias, new ScaledLogOp(lambda));
        state.KeyBias = bias;
    }
}
