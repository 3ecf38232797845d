// Group normalisation (torch.nn.functional.group_norm) over NCHW tensors; the forward saves each
// (image, group)'s mean and 1/std for the backward, which adds to dγ and dβ (as LayerNorm.cs).

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// y = GroupNorm(<paramref name="x"/> (B, C, ...)) over <paramref name="groups"/> channel groups,
    /// scaled by γ (C) and shifted by β (C). timm's ResNetV2 uses 32 groups and eps 1e-5.
    /// </summary>
    /// <exception cref="ShapeMismatchException">C is not a multiple of groups, or γ or β is not (C).</exception>
    public Variable GroupNorm(Variable x, Variable gamma, Variable beta, int groups = 32, float eps = 1e-5f)
    {
        bool grad = Needs(x, gamma, beta);
        var y = Output(x, grad, x.Shape.Dims.ToArray());
        if (!grad)
        {
            Ops.GroupNorm(x.Value, gamma.Value, beta.Value, y.Value, groups, eps);
            return y;
        }
        var mean = Owned(Tensor<float>.Empty(x.Device, x.Shape[0], groups));
        var rstd = Owned(Tensor<float>.Empty(x.Device, x.Shape[0], groups));
        Ops.GroupNorm(x.Value, gamma.Value, beta.Value, y.Value, groups, eps, mean, rstd);
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            // The kernel always produces all three gradients; ones nobody needs go to scratch.
            using var scratchX = x.RequiresGrad ? null : Tensor<float>.Empty(x.Device, x.Shape.Dims.ToArray());
            using var scratchGamma = gamma.RequiresGrad ? null : Tensor<float>.Zeros(x.Device, gamma.Shape.Dims.ToArray());
            using var scratchBeta = beta.RequiresGrad ? null : Tensor<float>.Zeros(x.Device, beta.Shape.Dims.ToArray());
            bool accumulate = false;
            var dx = scratchX ?? x.GradBuffer(out accumulate);
            Ops.GroupNormBackward(dy, x.Value, gamma.Value, mean, rstd, dx,
                scratchGamma ?? gamma.ZeroedGradBuffer(), scratchBeta ?? beta.ZeroedGradBuffer(), groups, accumulate);
        });
        return y;
    }
}
