// Max pooling with -inf padding (timm's MaxPool2dSame with Padding2d.Same); the forward keeps each
// window's winner for the backward, which routes dy to it (Kernels/MaxPool2d.cs).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// y (B, C, OH, OW) = max over each <paramref name="kernel"/> x <paramref name="kernel"/> window of
    /// <paramref name="x"/> (B, C, H, W) with <paramref name="stride"/> and <paramref name="padding"/> at -inf.
    /// The R26 stem uses kernel 3, stride 2 and <see cref="Padding2d.Same"/>.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x is not rank 4 or the window does not fit.</exception>
    public Variable MaxPool2d(Variable x, int kernel, int stride, Padding2d padding)
    {
        var g = Conv2dGeometry.Of("MaxPool2d", x.Shape, kernel, kernel, stride, padding);
        bool grad = Needs(x);
        var y = Output(x, grad, g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        var argmax = Tensor<int>.Empty(x.Device, g.Batch, g.Channels, g.OutHeight, g.OutWidth);
        if (grad) Owned(argmax);
        try
        {
            Ops.MaxPool2d(x.Value, y.Value, argmax, g);
        }
        finally
        {
            if (!grad) argmax.Dispose();
        }
        if (grad)
            Record(() =>
            {
                if (y.Grad is not { } dy) return;
                var dx = x.GradBuffer(out bool accumulate);
                Ops.MaxPool2dBackward(dy, argmax, dx, g, accumulate);
            });
        return y;
    }
}
