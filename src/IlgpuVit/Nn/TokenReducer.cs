// The seam where token reduction sits (ToMe's patch point): inside a block, after the attention
// residual and before the MLP. A reducer sees the block's attention auxiliaries and returns fewer
// tokens; every image keeps the same count. Reduction.TokenReduction implements it once for every
// method: the methods themselves (Top-K, VPA, EViT, eTPS, ToMe) are planners it applies.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Reduces the tokens of a block between attention and MLP.</summary>
public interface ITokenReducer
{
    /// <summary>
    /// Returns the tokens (B, T', C), T' ≤ T, that go on to the MLP and the next block, from the
    /// residual stream <paramref name="x"/> (B, T, C) after attention.
    /// </summary>
    Variable Reduce(Tape tape, Variable x, in ReductionContext context);

    /// <summary>
    /// What <see cref="Reduce"/> will read of block <paramref name="layer"/>'s attention over <paramref name="tokens"/> tokens
    /// besides its output (<see cref="AttentionOutput.ClsAttention"/>, <see cref="AttentionOutput.HeadMeanKeys"/>); the
    /// block's attention writes only those. The CLS attention by default.
    /// </summary>
    AttentionExtras Reads(int layer, int tokens) => AttentionExtras.ClsAttention;
}

/// <summary>What a reducer may use.</summary>
/// <param name="Layer">The block's index, from 0.</param>
/// <param name="Attention">The block's attention outputs (probabilities, qkv).</param>
/// <param name="State">Per-forward token state shared by all blocks (sizes, key bias).</param>
public readonly record struct ReductionContext(int Layer, AttentionOutput Attention, TokenState State);

/// <summary>
/// Token bookkeeping of one forward pass, shared by the blocks: how many patches each token stands
/// for, and the key bias attention adds (λ log size). Null until the reducer sets them; the tape that
/// ran the forward owns the tensors.
/// </summary>
public sealed class TokenState
{
    /// <summary>(B, T): patches each present token stands for; null means all ones.</summary>
    public Tensor<float>? Sizes { get; set; }

    /// <summary>(B, T): added to every attention logit of key j; null means none.</summary>
    public Tensor<float>? KeyBias { get; set; }

    /// <summary>Tokens (CLS included) each block handed on, in block order: what FLOPs are counted from.</summary>
    public List<int> TokensAfterLayer { get; } = [];

    /// <summary>
    /// Multiply-accumulates per image of the reducers' own products (ToMe's and eTPS's similarities,
    /// VPA's host search), which docs/flops.md counts on top of the blocks'.
    /// </summary>
    public double MethodMacs { get; set; }
}
