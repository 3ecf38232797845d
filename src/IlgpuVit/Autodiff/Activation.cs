// Elementwise activations, y = f(x), and their backward dx = f'(·) dy through one generic op pair
// (Kernels: IUnaryOp forward, IBinaryOp backward of (saved tensor, dy)).
//   GELU, exact x Φ(x) (erf form, as timm and torchvision use): dx = dy (Φ(x) + x φ(x)); reads x.
//   ReLU, max(x, 0): dx = dy where y > 0. The output has the input's sign pattern, so the backward
//   reads y and the input may be released or overwritten.

using IlgpuVit.Kernels;

namespace IlgpuVit.Autodiff;

public sealed partial class Tape
{
    /// <summary>y = GELU(x), elementwise.</summary>
    public Variable Gelu(Variable x) => Activation<GeluOp, GeluBackwardOp>(x, backwardReadsOutput: false);

    /// <summary>y = max(x, 0), elementwise.</summary>
    public Variable Relu(Variable x) => Activation<ReluOp, ReluBackwardOp>(x, backwardReadsOutput: true);

    private Variable Activation<TForward, TBackward>(Variable x, bool backwardReadsOutput)
        where TForward : struct, IUnaryOp where TBackward : struct, IBinaryOp
    {
        bool grad = Needs(x);
        var y = Output(x, grad, x.Shape.Dims.ToArray());
        Ops.Map(x.Value, y.Value, new TForward());
        if (grad)
            Record(() =>
            {
                if (y.Grad is { } dy) Contribute(x, dx => Ops.MapBackward(backwardReadsOutput ? y.Value : x.Value, dy, dx, new TBackward()));
            });
        return y;
    }
}
