// Prepends the learned class token to each image's patch tokens (B, P, C) -> (B, P + 1, C).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>Puts <paramref name="cls"/> (1, 1, C) in front of the tokens of every image of <paramref name="x"/> (B, P, C).</summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit.</exception>
    public Variable PrependClassToken(Variable x, Variable cls)
    {
        bool grad = Needs(x, cls);
        var y = Output(x, grad, x.Shape[0], x.Shape[1] + 1, x.Shape[2]);
        Ops.PrependClassToken(x.Value, cls.Value, y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is not { } dy) return;
                using var scratchX = x.RequiresGrad ? null : Tensor<float>.Empty(x.Device, x.Shape.Dims.ToArray());
                using var scratchCls = cls.RequiresGrad ? null : Tensor<float>.Zeros(x.Device, cls.Shape.Dims.ToArray());
                bool accumulate = false;
                var dx = scratchX ?? x.GradBuffer(out accumulate);
                Ops.PrependClassTokenBackward(dy, dx, scratchCls ?? cls.ZeroedGradBuffer(), accumulate);
            });
        return y;
    }
}
