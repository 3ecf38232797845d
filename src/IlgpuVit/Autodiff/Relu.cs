// ReLU, max(x, 0); dx = dy where y > 0 (the output has the input's sign pattern, so the backward
// reads y and the input may be released or overwritten).

using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>y = max(x, 0), elementwise.</summary>
    public Variable Relu(Variable x)
    {
        bool grad = Needs(x);
        var y = Output(x, grad, x.Shape.Dims.ToArray());
        Ops.Relu(x.Value, y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy) Contribute(x, dx => Ops.ReluBackward(y.Value, dy, dx));
            });
        return y;
    }
}
