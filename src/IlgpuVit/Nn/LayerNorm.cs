// Layer normalisation over the channel axis, γ = 1 and β = 0 at start.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>LayerNorm over the last axis; parameters "{name}.weight" (γ) and "{name}.bias" (β).</summary>
public sealed class LayerNorm : Module
{
    /// <summary>A norm over <paramref name="channels"/> with epsilon <paramref name="eps"/> (1e-6 in ViTs).</summary>
    public LayerNorm(Device device, string name, int channels, float eps = 1e-6f)
    {
        Eps = eps;
        Weight = Parameter(device, name + ".weight", Init.Constant(channels, 1f), channels);
        Bias = Parameter(device, name + ".bias", new float[channels], channels);
    }

    /// <summary>γ (C).</summary>
    public Variable Weight { get; }

    /// <summary>β (C).</summary>
    public Variable Bias { get; }

    /// <summary>The variance epsilon.</summary>
    public float Eps { get; }

    /// <summary>Normalises x (..., C).</summary>
    public Variable Forward(Tape tape, Variable x) => tape.LayerNorm(x, Weight, Bias, Eps);

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [Weight, Bias];
}
