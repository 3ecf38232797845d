// A new shape over the same values (row-major, equal element count); the gradient flows through
// unchanged.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>x with shape <paramref name="shape"/> (same element count); the values are copied.</summary>
    /// <exception cref="ShapeMismatchException">The element counts differ.</exception>
    public Variable Reshape(Variable x, params int[] shape)
    {
        var target = new Shape(shape);
        ShapeMismatchException.Require(target.Length == x.Shape.Length, "Reshape",
            $"shape {x.Shape} ({x.Shape.Length} elements) cannot become {target} ({target.Length} elements).");
        bool grad = Needs(x);
        var y = Output(x, grad, shape);
        Ops.Copy(x.Value, y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy) Contribute(x, dy.Reshape(x.Shape.Dims.ToArray()));
            });
        return y;
    }
}
