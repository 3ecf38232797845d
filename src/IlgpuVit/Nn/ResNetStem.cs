// The ResNetV2 "same" stem of timm's R26+ViT hybrid (create_resnetv2_stem, stem_type 'same',
// preact False): 7x7 stride-2 StdConv2dSame -> GroupNorm + ReLU -> 3x3 stride-2 max pool with SAME
// (-inf) padding. 224 px in, (B, 64, 56, 56) out. Names: "{prefix}.conv", "{prefix}.norm".

using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>conv 7x7/2 -> GN + ReLU -> max pool 3x3/2 (SAME).</summary>
public sealed class ResNetStem : Module
{
    /// <summary>A stem from <paramref name="inputs"/> image channels to <paramref name="outputs"/> (64 in R26).</summary>
    public ResNetStem(Device device, string prefix, Random random, int inputs = 3, int outputs = 64)
    {
        Conv = new StdConv2dSame(device, prefix + ".conv", inputs, outputs, 7, 2, random);
        Norm = new GroupNormAct(device, prefix + ".norm", outputs);
    }

    /// <summary>The 7x7 stride-2 convolution.</summary>
    public StdConv2dSame Conv { get; }

    /// <summary>GroupNorm + ReLU.</summary>
    public GroupNormAct Norm { get; }

    /// <summary>(B, outputs, ceil(H/4), ceil(W/4)) for images (B, inputs, H, W).</summary>
    public Variable Forward(Tape tape, Variable x)
    {
        var y = Norm.Forward(tape, Conv.Forward(tape, x));
        return tape.MaxPool2d(y, 3, 2, Padding2d.Same(y.Shape[2], y.Shape[3], 3, 3, 2));
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() => [.. Conv.Parameters(), .. Norm.Parameters()];
}
