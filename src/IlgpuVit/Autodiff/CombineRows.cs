// Token combination by plan (Ops.IndexPlan / CombineRows): y[b, m] = Σ w[b, t] x[b, t] over the
// tokens t the plan sends to row m (EViT's fused token, eTPS's squeeze, ToMe's merge). The plan is a
// constant; the backward sends w[b, t] dy[b, dest[b, t]] to each token, 0 to a dropped one.

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// Combines rows of <paramref name="x"/> (B, T, C) into (B, M, C) by an indexed plan: <paramref name="destination"/> and
    /// <paramref name="weight"/> (B, T), <paramref name="offsets"/> (B, M + 1) and <paramref name="sources"/> (B, T) from
    /// <see cref="Ops.IndexPlan"/>. The tensors must live until backward (own them with <see cref="Keep{T}"/>).
    /// <paramref name="combined"/> (B, M, C), when given, already holds the forward's values (a planner that combined the
    /// rows alongside its plan): the tape takes it as the output and launches nothing.
    /// </summary>
    /// <exception cref="ShapeMismatchException">The shapes do not fit together.</exception>
    public Variable CombineRows(Variable x, Tensor<int> destination, Tensor<float> weight, Tensor<int> offsets, Tensor<int> sources,
        Tensor<float>? combined = null)
    {
        ShapeMismatchException.Require(x.Shape.Rank == 3 && offsets.Shape.Rank == 2 && offsets.Shape[0] == x.Shape[0], "CombineRows",
            $"x has shape {x.Shape} and offsets {offsets.Shape}; they need (B, T, C) and (B, M + 1).");
        bool grad = Needs(x);
        Variable y;
        if (combined is null)
        {
            y = Output(x, grad, x.Shape[0], offsets.Shape[1] - 1, x.Shape[2]);
            Ops.CombineRows(x.Value, offsets, sources, weight, y.Value);
        }
        else
        {
            ShapeMismatchException.ThrowIfDifferent("CombineRows", "combined", new Shape(x.Shape[0], offsets.Shape[1] - 1, x.Shape[2]), combined.Shape);
            y = new Variable(combined, grad);
            _owned.Add(y);
        }
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy)
                {
                    var dx = x.GradBuffer(out bool accumulate);
                    Ops.CombineRowsBackward(dy, destination, weight, dx, accumulate);
                }
            });
        return y;
    }
}
