// Fully connected layer, weight (out, in) as torch stores it.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>y = x Wᵀ + b with W (out, in), b (out); parameters "{name}.weight" and "{name}.bias".</summary>
public sealed class Linear : Module
{
    /// <summary>A layer with timm's initialisation (truncated normal 0.02, zero bias).</summary>
    public Linear(Device device, string name, int inputs, int outputs, Random random)
    {
        Weight = Parameter(device, name + ".weight", Init.TruncatedNormal(random, (long)outputs * inputs, 0.02), outputs, inputs);
        Bias = Parameter(device, name + ".bias", new float[outputs], outputs);
    }

    /// <summary>(out, in).</summary>
    public Variable Weight { get; }

    /// <summary>(out).</summary>
    public Variable Bias { get; }

    /// <summary>y (..., out) for x (..., in), plus <paramref name="residual"/> when given.</summary>
    public Variable Forward(Tape tape, Variable x, Variable? residual = null) => tape.Linear(x, Weight, Bias, residual);

    /// <summary>GELU(y) for x (..., in), fused into the product at inference (<see cref="Tape.LinearGelu"/>).</summary>
    public Variable ForwardGelu(Tape tape, Variable x) => tape.LinearGelu(x, Weight, Bias);

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [Weight, Bias];
}
