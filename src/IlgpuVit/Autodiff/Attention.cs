// Multi-head scaled dot-product attention over a fused qkv buffer (B, T, 3C): columns [q | k | v],
// head h at columns h·d .. h·d + d − 1 of each part (timm's and torch's in_proj layout). Every
// product runs as one strided GEMM over all (image, head) pairs, so nothing is permuted.
//   S = s Q Kᵀ (s = 1/√d),  P = softmax(S + bias),  O = P V        (per image and head)
// The optional key bias (B, T) is added to every query's logits of key j (log size for
// proportional attention, ToMe / VPA).
// Backward:  dP = dO Vᵀ,  dV = Pᵀ dO,  dS = P ⊙ (dP − rowsum(dP ⊙ P)),  dQ = s dS K,  dK = s dSᵀ Q.
// The probabilities P (B, H, T, T) are kept for the backward and exposed to token reducers (the
// CLS row is the importance score of the Top-K family).

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// Attention of <paramref name="heads"/> heads over <paramref name="qkv"/> (B, T, 3C); returns O (B, T, C) with
    /// head h in columns h·d..h·d+d−1, and the probabilities (B, H, T, T), owned by this tape.
    /// </summary>
    /// <param name="qkv">Fused projections (B, T, 3C).</param>
    /// <param name="heads">Number of heads H; C must be a multiple of H.</param>
    /// <param name="keyBias">Optional additive logit bias per key (B, T), not differentiated.</param>
    /// <param name="probabilities">The attention probabilities (B, H, T, T).</param>
    /// <exception cref="ShapeMismatchException">qkv is not (B, T, 3C) with C divisible by H, or the bias is not (B, T).</exception>
    public Variable Attention(Variable qkv, int heads, Tensor<float>? keyBias, out Tensor<float> probabilities)
    {
        ShapeMismatchException.Require(qkv.Shape.Rank == 3 && qkv.Shape[2] % 3 == 0 && heads >= 1 && qkv.Shape[2] / 3 % heads == 0,
            "Attention", $"qkv has shape {qkv.Shape}; it needs (B, T, 3C) with C a multiple of {heads} heads.");
        int b = qkv.Shape[0], t = qkv.Shape[1], c = qkv.Shape[2] / 3, d = c / heads;
        if (keyBias is not null) ShapeMismatchException.ThrowIfDifferent("Attention", "key bias", new Shape(b, t), keyBias.Shape);
        float scale = 1f / MathF.Sqrt(d);
        // Layouts: q, k, v inside qkv; scores (B, H, T, T); o (B, T, C).
        var q = new MatrixLayout(0, 3 * c, t * 3 * c, d);
        var k = q with { Offset = c };
        var v = q with { Offset = 2 * c };
        var s = new MatrixLayout(0, t, heads * t * t, t * t);
        var o = new MatrixLayout(0, c, t * c, d);

        bool grad = Needs(qkv);
        var p = Owned(Tensor<float>.Empty(qkv.Device, b, heads, t, t));
        Ops.Gemm(b, heads, t, t, d, qkv.Value, q, qkv.Value, k, p, s, new GemmOptions { TransposeB = true, Alpha = scale });
        Ops.Softmax(p, p, 1f, keyBias);
        var y = Output(qkv, grad, b, t, c);
        Ops.Gemm(b, heads, t, d, t, p, s, qkv.Value, v, y.Value, o);
        probabilities = p;
        if (!grad) return y;
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            var dqkv = qkv.GradBuffer(out bool accumulate);
            using var ds = Tensor<float>.Empty(qkv.Device, b, heads, t, t);
            Ops.Gemm(b, heads, t, t, d, dy, o, qkv.Value, v, ds, s, new GemmOptions { TransposeB = true });        // dP
            Ops.Gemm(b, heads, t, d, t, p, s, dy, o, dqkv, v, new GemmOptions { TransposeA = true, Accumulate = accumulate }); // dV
            Ops.SoftmaxBackward(p, ds, ds);                                                                            // dS
            Ops.Gemm(b, heads, t, d, t, ds, s, qkv.Value, k, dqkv, q, new GemmOptions { Alpha = scale, Accumulate = accumulate });                    // dQ
            Ops.Gemm(b, heads, t, d, t, ds, s, qkv.Value, q, dqkv, k, new GemmOptions { TransposeA = true, Alpha = scale, Accumulate = accumulate }); // dK
        });
        return y;
    }
}
