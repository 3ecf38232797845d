// Weight standardisation (Qiao et al. 2019) as timm's StdConv2d / StdConv2dSame: each output
// channel's weights w[o, ...] become (w - mean_o) / sqrt(var_o + eps), with the population (biased)
// variance (timm uses F.batch_norm over the weight reshaped (1, Cout, -1), training mode, eps 1e-8
// in the R26+ViT hybrid). That is LayerNorm over rows of C k_h k_w without an affine, so it runs on
// the LayerNorm kernels with γ = 1 and β = 0, and gradients flow back to the raw weight.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// The standardised <paramref name="weight"/> (Cout, ...): every output channel's weights minus their
    /// mean, divided by sqrt(population variance + <paramref name="eps"/>). Same shape as the weight.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The weight has fewer than two dimensions.</exception>
    public Variable StandardizeWeight(Variable weight, float eps = 1e-8f)
    {
        ShapeMismatchException.Require(weight.Shape.Rank >= 2, "StandardizeWeight",
            $"weight has shape {weight.Shape}; it needs (Cout, ...) with at least two dimensions.");
        int rows = weight.Shape[0], length = (int)(weight.Shape.Length / rows);
        bool grad = Needs(weight);
        var y = Output(weight, grad, weight.Shape.Dims.ToArray());
        var ones = Owned(Tensor<float>.FromArray(weight.Device, Enumerable.Repeat(1f, length).ToArray(), length));
        using var zeros = Tensor<float>.Zeros(weight.Device, length);
        var rowsOf = (Tensor<float> t) => t.Reshape(rows, length);
        if (!grad)
        {
            Ops.LayerNorm(rowsOf(weight.Value), ones, zeros, rowsOf(y.Value), eps);
            return y;
        }
        var mean = Owned(Tensor<float>.Empty(weight.Device, rows));
        var rstd = Owned(Tensor<float>.Empty(weight.Device, rows));
        Ops.LayerNorm(rowsOf(weight.Value), ones, zeros, rowsOf(y.Value), eps, mean, rstd);
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            using var dgamma = Tensor<float>.Zeros(weight.Device, length);
            using var dbeta = Tensor<float>.Zeros(weight.Device, length);
            var dw = weight.GradBuffer(out bool accumulate);
            Ops.LayerNormBackward(rowsOf(dy), rowsOf(weight.Value), ones, mean, rstd, rowsOf(dw), dgamma, dbeta, accumulate);
        });
        return y;
    }
}
