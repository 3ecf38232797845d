// Swap of the last two axes, (B, M, N) -> (B, N, M); its gradient is the same swap of dy.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>Transposes the last two axes of <paramref name="x"/> (B, M, N) into (B, N, M).</summary>
    /// <exception cref="ShapeMismatchException">x is not of rank 3.</exception>
    public Variable TransposeLast2(Variable x)
    {
        ShapeMismatchException.Require(x.Shape.Rank == 3, "TransposeLast2", $"x has shape {x.Shape}; it needs (B, M, N).");
        bool grad = Needs(x);
        var y = Output(x, grad, x.Shape[0], x.Shape[2], x.Shape[1]);
        Ops.TransposeLast2(x.Value, y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy) Contribute(x, dx => Ops.TransposeLast2(dy, dx));
            });
        return y;
    }
}
