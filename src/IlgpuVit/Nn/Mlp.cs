// The transformer MLP: fc1, exact GELU, fc2; fc2's GEMM adds the residual stream, and at inference
// fc1's GEMM applies GELU in its epilogue.

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>Two linear layers with GELU between; parameters "{name}.fc1.*" and "{name}.fc2.*".</summary>
public sealed class Mlp : Module
{
    /// <summary>C -> hidden -> C.</summary>
    public Mlp(Device device, string name, int channels, int hidden, Random random)
    {
        Fc1 = new Linear(device, name + ".fc1", channels, hidden, random);
        Fc2 = new Linear(device, name + ".fc2", hidden, channels, random);
    }

    /// <summary>C -> hidden.</summary>
    public Linear Fc1 { get; }

    /// <summary>hidden -> C.</summary>
    public Linear Fc2 { get; }

    /// <summary>residual + fc2(GELU(fc1(x))).</summary>
    public Variable Forward(Tape tape, Variable x, Variable residual) =>
        Fc2.Forward(tape, Fc1.ForwardGelu(tape, x), residual);

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [.. Fc1.Parameters(), .. Fc2.Parameters()];
}
