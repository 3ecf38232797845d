// Layer normalisation over the last axis (torch.nn.functional.layer_norm). The forward saves each
// row's mean and 1/std for the backward, as llm.c does; the backward kernel adds to dγ and dβ.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>y = (x − mean) / sqrt(var + eps) · γ + β over the last axis of <paramref name="x"/>.</summary>
    /// <exception cref="ShapeMismatchException">γ or β is not (C) for x (..., C).</exception>
    public Variable LayerNorm(Variable x, Variable gamma, Variable beta, float eps = 1e-6f)
    {
        int rows = (int)(x.Shape.Length / x.Shape[-1]);
        bool grad = Needs(x, gamma, beta);
        var y = Output(x, grad, x.Shape.Dims.ToArray());
        if (!grad)
        {
            Ops.LayerNorm(x.Value, gamma.Value, beta.Value, y.Value, eps);
            return y;
        }
        var mean = Owned(Tensor<float>.Empty(x.Device, rows));
        var rstd = Owned(Tensor<float>.Empty(x.Device, rows));
        Ops.LayerNorm(x.Value, gamma.Value, beta.Value, y.Value, eps, mean, rstd);
        RecordNormBackward(y, x, gamma, beta, (dy, dx, dgamma, dbeta, accumulate) =>
            Ops.LayerNormBackward(dy, x.Value, gamma.Value, mean, rstd, dx, dgamma, dbeta, accumulate));
        return y;
    }

    /// <summary>
    /// Records the backward of a normalisation whose kernel writes all three gradients at once (dx, and dγ, dβ added to):
    /// the ones nobody needs go to scratch.
    /// </summary>
    private void RecordNormBackward(Variable y, Variable x, Variable gamma, Variable beta,
        Action<Tensor<float>, Tensor<float>, Tensor<float>, Tensor<float>, bool> backward) =>
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            using var scratchX = x.RequiresGrad ? null : Tensor<float>.Empty(x.Device, x.Shape.Dims.ToArray());
            using var scratchGamma = gamma.RequiresGrad ? null : Tensor<float>.Zeros(x.Device, gamma.Shape.Dims.ToArray());
            using var scratchBeta = beta.RequiresGrad ? null : Tensor<float>.Zeros(x.Device, beta.Shape.Dims.ToArray());
            bool accumulate = false;
            var dx = scratchX ?? x.GradBuffer(out accumulate);
            backward(dy, dx, scratchGamma ?? gamma.ZeroedGradBuffer(), scratchBeta ?? beta.ZeroedGradBuffer(), accumulate);
        });
}
