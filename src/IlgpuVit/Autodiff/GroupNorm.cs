// Group normalisation (torch.nn.functional.group_norm) over NCHW tensors; the forward saves each
// (image, group)'s mean and 1/std for the backward, which adds to dγ and dβ (as LayerNorm.cs).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// y = GroupNorm(<paramref name="x"/> (B, C, ...)) over <paramref name="groups"/> channel groups,
    /// scaled by γ (C) and shifted by β (C), then max(·, 0) with <paramref name="relu"/>. timm's ResNetV2 uses 32 groups
    /// and eps 1e-5. Without gradients the ReLU runs in the norm's own pass.
    /// </summary>
    /// <exception cref="ShapeMismatchException">C is not a multiple of groups, or γ or β is not (C).</exception>
    public Variable GroupNorm(Variable x, Variable gamma, Variable beta, int groups = 32, float eps = 1e-5f, bool relu = false)
    {
        bool grad = Needs(x, gamma, beta);
        var y = Output(x, grad, x.Shape.Dims.ToArray());
        if (!grad)
        {
            Ops.GroupNorm(x.Value, gamma.Value, beta.Value, y.Value, groups, eps, relu: relu);
            return y;
        }
        var mean = Owned(Tensor<float>.Empty(x.Device, x.Shape[0], groups));
        var rstd = Owned(Tensor<float>.Empty(x.Device, x.Shape[0], groups));
        Ops.GroupNorm(x.Value, gamma.Value, beta.Value, y.Value, groups, eps, mean, rstd);
        RecordNormBackward(y, x, gamma, beta, (dy, dx, dgamma, dbeta, accumulate) =>
            Ops.GroupNormBackward(dy, x.Value, gamma.Value, mean, rstd, dx, dgamma, dbeta, groups, accumulate));
        return relu ? Relu(y) : y;
    }
}
