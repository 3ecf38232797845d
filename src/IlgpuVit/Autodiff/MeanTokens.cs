// Global average pooling of a ViT's patch tokens (timm's global_pool="avg"): the mean over tokens
// 1..T-1 of each image, leaving out the class token. Both directions are one GEMM with a ones vector:
//   y_b (1, C) = 1/(T-1) · 1ᵀ X_b[1:],        dX_b[1:] += 1/(T-1) · 1 dy_b   (the CLS row gets nothing)

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>The mean of the tokens after the first of each image of <paramref name="x"/> (B, T, C), as (B, 1, C).</summary>
    /// <exception cref="ShapeMismatchException">x is not (B, T, C) with T ≥ 2.</exception>
    public Variable MeanTokens(Variable x)
    {
        ShapeMismatchException.Require(x.Shape.Rank == 3 && x.Shape[1] >= 2, "MeanTokens",
            $"x has shape {x.Shape}; it needs (B, T, C) with a class token and at least one more token.");
        int b = x.Shape[0], t = x.Shape[1], c = x.Shape[2], n = t - 1;
        bool grad = Needs(x);
        var ones = Owned(Tensor<float>.FromArray(x.Device, Enumerable.Repeat(1f, n).ToArray(), n));
        var y = Output(x, grad, b, 1, c);
        var tokens = new MatrixLayout(c, c, t * c);          // rows 1..T-1 of each image
        Ops.Gemm(b, 1, 1, c, n, ones, new(0, n), x.Value, tokens, y.Value, new(0, c, c), new GemmOptions { Alpha = 1f / n });
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy)
                    Ops.Gemm(b, 1, n, c, 1, ones, new(0, 1), dy, new(0, c, c), x.ZeroedGradBuffer(), tokens,
                        new GemmOptions { Alpha = 1f / n, Accumulate = true });
            });
        return y;
    }
}
