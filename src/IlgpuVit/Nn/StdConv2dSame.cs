// A weight-standardised convolution with TensorFlow SAME padding and no bias, as timm's StdConv2dSame
// (timm/layers/std_conv.py) with eps 1e-8 as the R26+ViT hybrid builds it. The padding depends on
// the input size, so it is computed at each forward. Initialisation: kaiming normal (fan_out, ReLU),
// std sqrt(2 / (Cout k k)), as timm's ResNetV2 _init_weights.

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>conv2d(x, standardise(W)) with SAME padding; parameter "{name}.weight" (Cout, Cin, k, k).</summary>
public sealed class StdConv2dSame : Module
{
    /// <summary>A k x k convolution from <paramref name="inputs"/> to <paramref name="outputs"/> channels with <paramref name="stride"/>.</summary>
    public StdConv2dSame(Device device, string name, int inputs, int outputs, int kernel, int stride, Random random, float eps = 1e-8f)
    {
        Kernel = kernel;
        Stride = stride;
        Eps = eps;
        Weight = Parameter(device, name + ".weight", Init.Normal(random, (long)outputs * inputs * kernel * kernel,
            Math.Sqrt(2.0 / (outputs * kernel * kernel))), outputs, inputs, kernel, kernel);
    }

    /// <summary>The raw weight (Cout, Cin, k, k), standardised at each forward.</summary>
    public Variable Weight { get; }

    /// <summary>Window size k.</summary>
    public int Kernel { get; }

    /// <summary>Stride.</summary>
    public int Stride { get; }

    /// <summary>The standardisation epsilon.</summary>
    public float Eps { get; }

    /// <summary>y (B, Cout, ceil(H/s), ceil(W/s)) for x (B, Cin, H, W).</summary>
    public Variable Forward(Tape tape, Variable x)
    {
        ShapeMismatchException.Require(x.Shape.Rank == 4, "StdConv2dSame", $"input has shape {x.Shape}; it needs (B, C, H, W).");
        var padding = Padding2d.Same(x.Shape[2], x.Shape[3], Kernel, Kernel, Stride);
        return tape.Conv2d(x, tape.StandardizeWeight(Weight, Eps), null, Stride, padding);
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [Weight];
}
