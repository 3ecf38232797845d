// Linear layer: y = x Wᵀ + b [+ r], as torch.nn.functional.linear (W stored (out, in)).
// Backward (rows = all leading dims of x flattened):
//   dx = dy W            (rows, out) x (out, in)
//   dW += dyᵀ x          (out, rows) x (rows, in)
//   db += Σ_rows dy
//   dr += dy             (the residual stream)
// The weight may carry more dimensions than (out, in) (a patch-embedding conv weight
// (C, Cin, p, p)); it is used as (out, product of the rest).

using IlgpuVit.Runtime;
using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>
    /// y (..., out) = x (..., in) · Wᵀ + b, plus <paramref name="residual"/> (shaped like y) when given.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x's last axis is not W's input size, or b/residual do not fit.</exception>
    public Variable Linear(Variable x, Variable weight, Variable? bias = null, Variable? residual = null) => Linear(x, weight, bias, residual, gelu: false);

    /// <summary>
    /// GELU(x Wᵀ + b). With no gradient to record (inference) GELU runs in the GEMM's epilogue, saving a pass over the
    /// output; otherwise it is <see cref="Gelu"/> of <see cref="Linear(Variable, Variable, Variable?, Variable?)"/>, since the
    /// backward needs the input of GELU.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x's last axis is not W's input size, or b does not fit.</exception>
    public Variable LinearGelu(Variable x, Variable weight, Variable? bias = null) =>
        Needs(x, weight, bias) ? Gelu(Linear(x, weight, bias)) : Linear(x, weight, bias, residual: null, gelu: true);

    private Variable Linear(Variable x, Variable weight, Variable? bias, Variable? residual, bool gelu)
    {
        int outputs = weight.Shape[0], inputs = (int)(weight.Shape.Length / outputs);
        ShapeMismatchException.Require(x.Shape[-1] == inputs, "Linear",
            $"input has shape {x.Shape}; the weight {weight.Shape} takes {inputs} features on the last axis.");
        int rows = (int)(x.Shape.Length / inputs);
        var shape = x.Shape.Dims.ToArray();
        shape[^1] = outputs;
        if (residual is not null) ShapeMismatchException.ThrowIfDifferent("Linear", "residual", new Shape(shape), residual.Shape);
        bool grad = Needs(x, weight, bias) || (RecordsGradients && residual?.RequiresGrad == true);
        var y = Output(x, grad, shape);
        Ops.Gemm(1, 1, rows, outputs, inputs, x.Value, new(0, inputs), weight.Value, new(0, inputs), y.Value, new(0, outputs),
            new GemmOptions { TransposeB = true, Bias = bias?.Value, Residual = residual?.Value, Gelu = gelu });
        if (!grad) return y;
        Record(() =>
        {
            if (y.Grad is not { } dy) return;
            if (x.RequiresGrad)
            {
                var dx = x.GradBuffer(out bool accumulate);
                Ops.Gemm(1, 1, rows, inputs, outputs, dy, new(0, outputs), weight.Value, new(0, inputs), dx, new(0, inputs),
                    new GemmOptions { Accumulate = accumulate });
            }
            if (weight.RequiresGrad)
            {
                var dw = weight.GradBuffer(out bool accumulate);
                Ops.Gemm(1, 1, outputs, inputs, rows, dy, new(0, outputs), x.Value, new(0, inputs), dw, new(0, inputs),
                    new GemmOptions { TransposeA = true, Accumulate = accumulate });
            }
            if (bias?.RequiresGrad == true)
            {
                var db = bias.GradBuffer(out bool accumulate);
                Ops.SumRows(dy, db, accumulate);
            }
            if (residual?.RequiresGrad == true) Contribute(residual, dy);
        });
        return y;
    }
}
