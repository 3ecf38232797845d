// Token selection: y[b, k, :] = x[b, index[b, k], :] (the CLS row for the head, the kept tokens of a
// reducer). Backward scatters dy back, adding where an index repeats.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>Gathers rows of <paramref name="x"/> (B, T, C) at <paramref name="index"/> (B, K) into (B, K, C).</summary>
    /// <exception cref="ShapeMismatchException">The shapes are not (B, T, C) and (B, K).</exception>
    public Variable GatherRows(Variable x, Tensor<int> index)
    {
        ShapeMismatchException.Require(x.Shape.Rank == 3 && index.Shape.Rank == 2 && index.Shape[0] == x.Shape[0], "GatherRows",
            $"x has shape {x.Shape} and index {index.Shape}; they need (B, T, C) and (B, K).");
        bool grad = Needs(x);
        var y = Output(x, grad, x.Shape[0], index.Shape[1], x.Shape[2]);
        Ops.GatherRows(x.Value, index, y.Value);
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy) Ops.ScatterRows(dy, index, x.ZeroedGradBuffer(), accumulate: true);
            });
        return y;
    }
}
