// 2-D convolution (torch.nn.functional.conv2d after explicit padding) over NCHW images; the kernels
// (Kernels/Conv2d.cs) recompute the im2col columns in the backward, so the tape keeps nothing but x.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// y (B, Cout, OH, OW) = conv2d(<paramref name="x"/> (B, C, H, W), <paramref name="weight"/> (Cout, C, k_h, k_w))
    /// + <paramref name="bias"/> (Cout), with <paramref name="stride"/> and explicit <paramref name="padding"/>
    /// (<see cref="Padding2d.Same"/> gives TensorFlow's SAME).
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not chain or the window does not fit.</exception>
    public Variable Conv2d(Variable x, Variable weight, Variable? bias = null, int stride = 1, Padding2d padding = default)
    {
        ShapeMismatchException.Require(weight.Shape.Rank == 4, "Conv2d", $"weight has shape {weight.Shape}; it needs (Cout, Cin, kh, kw).");
        var g = Conv2dGeometry.Of("Conv2d", x.Shape, weight.Shape[2], weight.Shape[3], stride, padding);
        bool grad = Needs(x, weight, bias);
        var y = Output(x, grad, g.Batch, weight.Shape[0], g.OutHeight, g.OutWidth);
        Ops.Conv2d(x.Value, weight.Value, bias?.Value, y.Value, stride, padding);
        if (!grad) return y;
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            bool accumulateDx = false;
            var dx = x.RequiresGrad ? x.GradBuffer(out accumulateDx) : null;
            Ops.Conv2dBackward(dy, x.Value, weight.Value, stride, padding, dx,
                weight.RequiresGrad ? weight.ZeroedGradBuffer() : null,
                bias?.RequiresGrad == true ? bias.ZeroedGradBuffer() : null, accumulateDx);
        });
        return y;
    }
}
