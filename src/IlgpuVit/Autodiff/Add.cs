// Elementwise sum with trailing broadcast: b has a's shape or a trailing part of it (a position
// embedding (T, C) added to tokens (B, T, C)). The broadcast operand's gradient sums dy over the
// repeated leading axes. Leading axes of length 1 in b are ignored ((1, T, C) adds like (T, C)).

using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>y = a + b, where b's shape is a's or a trailing part of it (repeated over the leading axes).</summary>
    /// <exception cref="ShapeMismatchException">b's shape is not a trailing part of a's.</exception>
    public Variable Add(Variable a, Variable b)
    {
        bool grad = Needs(a, b);
        var y = Output(a, grad, a.Shape.Dims.ToArray());
        var dims = b.Shape.Dims;
        while (dims.Length > 1 && dims[0] == 1) dims = dims[1..];
        Ops.Add(a.Value, b.Value.Reshape(dims.ToArray()), y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is not { } dy) return;
                if (a.RequiresGrad) Contribute(a, dy);
                if (!b.RequiresGrad) return;
                if (b.Shape.Length == a.Shape.Length) Contribute(b, dy);
                else
                {
                    var db = b.GradBuffer(out bool accumulate);
                    int n = (int)b.Shape.Length;
                    Ops.SumRows(dy.Reshape((int)(dy.Length / n), n), db.Reshape(n), accumulate);
                }
            });
        return y;
    }
}
