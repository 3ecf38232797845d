// Exact GELU, x Φ(x) (erf form, as timm and torchvision use). dx = dy (Φ(x) + x φ(x)).

using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>y = GELU(x), elementwise.</summary>
    public Variable Gelu(Variable x)
    {
        bool grad = Needs(x);
        var y = Output(x, grad, x.Shape.Dims.ToArray());
        Ops.Gelu(x.Value, y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy) Contribute(x, dx => Ops.GeluBackward(x.Value, dy, dx));
            });
        return y;
    }
}
