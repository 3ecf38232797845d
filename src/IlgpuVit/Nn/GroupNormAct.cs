// GroupNorm followed by an optional ReLU, as timm's GroupNormAct (32 groups, eps 1e-5): the norm
// layer of ResNetV2. γ = 1 and β = 0 at start, except where a block zero-initialises its last norm.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>GroupNorm [+ ReLU]; parameters "{name}.weight" (γ) and "{name}.bias" (β).</summary>
public sealed class GroupNormAct : Module
{
    /// <summary>A norm over <paramref name="channels"/> in <paramref name="groups"/> groups, ReLU after when <paramref name="relu"/>.</summary>
    public GroupNormAct(Device device, string name, int channels, bool relu = true, int groups = 32, float eps = 1e-5f, float gamma = 1f)
    {
        Groups = groups;
        Eps = eps;
        Relu = relu;
        Weight = Parameter(device, name + ".weight", Init.Constant(channels, gamma), channels);
        Bias = Parameter(device, name + ".bias", new float[channels], channels);
    }

    /// <summary>γ (C).</summary>
    public Variable Weight { get; }

    /// <summary>β (C).</summary>
    public Variable Bias { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>The variance epsilon.</summary>
    public float Eps { get; }

    /// <summary>Whether a ReLU follows.</summary>
    public bool Relu { get; }

    /// <summary>Normalises x (B, C, H, W).</summary>
    public Variable Forward(Tape tape, Variable x)
    {
        return tape.GroupNorm(x, Weight, Bias, Groups, Eps, Relu);
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [Weight, Bias];
}
