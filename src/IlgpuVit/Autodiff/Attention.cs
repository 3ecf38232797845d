// Multi-head scaled dot-product attention over a fused qkv buffer (B, T, 3C): columns [q | k | v],
// head h at columns h·d .. h·d + d − 1 of each part (timm's and torch's in_proj layout). The kernels
// are Ops.AttentionForward / AttentionBackward (Kernels/Transformer/Attention.cs): fused per head on the CPU,
// strided GEMMs over all (image, head) pairs on GPUs, so nothing is permuted.
//   S = s Q Kᵀ (s = 1/√d),  P = softmax(S + bias),  O = P V        (per image and head)
// The optional key bias (B, T) is added to every query's logits of key j (log size for
// proportional attention, ToMe / VPA).
// Backward:  dP = dO Vᵀ,  dV = Pᵀ dO,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = s dS K,  dK = s dSᵀ Q.
// The probabilities P (B, H, T, T) are kept for the backward; token reducers of the Top-K family read only the
// CLS query's row (their importance score), which the forward writes on its own (B, H, 1, T) when asked. A forward
// that needs neither skips them, which runs the fused kernel on GPUs. ToMe and VPA read the keys averaged over heads,
// which the forward also writes when asked: on the CPU right after each image's last head, while its keys are in cache.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// Attention of <paramref name="heads"/> heads over <paramref name="qkv"/> (B, T, 3C); returns O (B, T, C) with
    /// head h in columns h·d..h·d+d−1, and what <paramref name="keep"/> asks for besides, owned by this tape.
    /// </summary>
    /// <param name="qkv">Fused projections (B, T, 3C).</param>
    /// <param name="heads">Number of heads H; C must be a multiple of H.</param>
    /// <param name="keyBias">Optional additive logit bias per key (B, T), not differentiated.</param>
    /// <param name="clsAttention">Row 0 of every head's probabilities (B, H, 1, T), or null unless <paramref name="keep"/> has
    /// <see cref="AttentionExtras.ClsAttention"/>.</param>
    /// <param name="headMeanKeys">Each token's key averaged over heads and L2-normalised (B, T, d), or null unless
    /// <paramref name="keep"/> has <see cref="AttentionExtras.HeadMeanKeys"/>.</param>
    /// <param name="keep">What the caller reads besides O (a token reducer's score or metric).</param>
    /// <exception cref="ShapeMismatchException">qkv is not (B, T, 3C) with C divisible by H, or the bias is not (B, T).</exception>
    public Variable Attention(Variable qkv, int heads, Tensor<float>? keyBias, out Tensor<float>? clsAttention, out Tensor<float>? headMeanKeys,
        AttentionExtras keep = AttentionExtras.None)
    {
        ShapeMismatchException.Require(qkv.Shape.Rank == 3 && qkv.Shape[2] % 3 == 0 && heads >= 1 && qkv.Shape[2] / 3 % heads == 0,
            "Attention", $"qkv has shape {qkv.Shape}; it needs (B, T, 3C) with C a multiple of {heads} heads.");
        int b = qkv.Shape[0], t = qkv.Shape[1], c = qkv.Shape[2] / 3, d = c / heads;
        if (keyBias is not null) ShapeMismatchException.ThrowIfDifferent("Attention", "key bias", new Shape(b, t), keyBias.Shape);
        float scale = 1f / MathF.Sqrt(d);

        bool grad = Needs(qkv);
        var p = grad ? Owned(Tensor<float>.Empty(qkv.Device, b, heads, t, t)) : null;
        var cls = keep.HasFlag(AttentionExtras.ClsAttention) ? Owned(Tensor<float>.Empty(qkv.Device, b, heads, 1, t)) : null;
        var keys = keep.HasFlag(AttentionExtras.HeadMeanKeys) ? Owned(Tensor<float>.Empty(qkv.Device, b, t, d)) : null;
        var y = Output(qkv, grad, b, t, c);
        Ops.AttentionForward(qkv.Value, heads, scale, keyBias, p, y.Value, cls, keys);
        (clsAttention, headMeanKeys) = (cls, keys);
        if (!grad) return y;
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            var dqkv = qkv.GradBuffer(out bool accumulate);
            Ops.AttentionBackward(qkv.Value, p!, dy, dqkv, heads, scale, accumulate);
        });
        return y;
    }
}

/// <summary>What an attention forward writes besides its output, for a token reducer to read.</summary>
[Flags]
public enum AttentionExtras
{
    /// <summary>The output only.</summary>
    None = 0,

    /// <summary>The CLS query's attention probabilities (B, H, 1, T): the Top-K family's score.</summary>
    ClsAttention = 1,

    /// <summary>Each token's key averaged over heads and L2-normalised (B, T, d): ToMe's metric, VPA's host search. The
    /// CPU averages an image's keys while they are in cache after its last head.</summary>
    HeadMeanKeys = 2,
}
