// The non-pre-activation ResNetV2 bottleneck of timm's R26+ViT hybrid (timm resnetv2.Bottleneck):
//   conv1 1x1 -> norm1 (GN + ReLU) -> conv2 3x3 (carries the stride) -> norm2 (GN + ReLU)
//   -> conv3 1x1 -> norm3 (GN, no ReLU) ; + shortcut ; ReLU
// with mid channels = outputs / 4, and a downsample shortcut (1x1 conv with the stride + GN, no
// ReLU) on the first block of a stage. Every conv is a StdConv2dSame. norm3's γ starts at zero as
// timm's zero_init_last, so a fresh block is the identity on its (rectified) shortcut.
// Names: "{prefix}.conv1" ... "{prefix}.norm3", "{prefix}.downsample.conv", "{prefix}.downsample.norm",
// with prefix e.g. "patch_embed.backbone.stages.0.blocks.0".

using IlgpuVit.Autodiff;
using IlgpuVit.Runtime;

namespace IlgpuVit.Nn;

/// <summary>A ResNetV2 bottleneck block (non-pre-activation).</summary>
public sealed class Bottleneck : Module
{
    /// <summary>
    /// A block from <paramref name="inputs"/> to <paramref name="outputs"/> channels with <paramref name="stride"/>;
    /// with <paramref name="downsample"/> the shortcut is a 1x1 conv + GN (needed when the shape changes).
    /// </summary>
    /// <exception cref="ArgumentException">The shape changes but there is no downsample shortcut.</exception>
    public Bottleneck(Device device, string prefix, int inputs, int outputs, int stride, bool downsample, Random random, bool zeroInitLast = true)
    {
        if (!downsample && (inputs != outputs || stride != 1))
            throw new ArgumentException($"Bottleneck {prefix}: {inputs} -> {outputs} channels with stride {stride} needs a downsample shortcut.");
        int mid = outputs / 4;
        Conv1 = new StdConv2dSame(device, prefix + ".conv1", inputs, mid, 1, 1, random);
        Norm1 = new GroupNormAct(device, prefix + ".norm1", mid);
        Conv2 = new StdConv2dSame(device, prefix + ".conv2", mid, mid, 3, stride, random);
        Norm2 = new GroupNormAct(device, prefix + ".norm2", mid);
        Conv3 = new StdConv2dSame(device, prefix + ".conv3", mid, outputs, 1, 1, random);
        Norm3 = new GroupNormAct(device, prefix + ".norm3", outputs, relu: false, gamma: zeroInitLast ? 0f : 1f);
        if (downsample)
        {
            DownsampleConv = new StdConv2dSame(device, prefix + ".downsample.conv", inputs, outputs, 1, stride, random);
            DownsampleNorm = new GroupNormAct(device, prefix + ".downsample.norm", outputs, relu: false);
        }
    }

    /// <summary>1x1 reduction to outputs / 4.</summary>
    public StdConv2dSame Conv1 { get; }

    /// <summary>GN + ReLU after conv1.</summary>
    public GroupNormAct Norm1 { get; }

    /// <summary>3x3 with the block's stride.</summary>
    public StdConv2dSame Conv2 { get; }

    /// <summary>GN + ReLU after conv2.</summary>
    public GroupNormAct Norm2 { get; }

    /// <summary>1x1 expansion to outputs.</summary>
    public StdConv2dSame Conv3 { get; }

    /// <summary>GN (no ReLU) after conv3.</summary>
    public GroupNormAct Norm3 { get; }

    /// <summary>The shortcut's 1x1 conv, or null for the identity.</summary>
    public StdConv2dSame? DownsampleConv { get; }

    /// <summary>The shortcut's GN, or null for the identity.</summary>
    public GroupNormAct? DownsampleNorm { get; }

    /// <summary>(B, outputs, ceil(H/s), ceil(W/s)) for x (B, inputs, H, W).</summary>
    public Variable Forward(Tape tape, Variable x)
    {
        var shortcut = DownsampleConv is null ? x : DownsampleNorm!.Forward(tape, DownsampleConv.Forward(tape, x));
        var y = Norm1.Forward(tape, Conv1.Forward(tape, x));
        y = Norm2.Forward(tape, Conv2.Forward(tape, y));
        y = Norm3.Forward(tape, Conv3.Forward(tape, y));
        return tape.Relu(tape.Add(y, shortcut));
    }

    /// <inheritdoc/>
    public override IEnumerable<Variable> Parameters() =>
    [
        .. Conv1.Parameters(), .. Norm1.Parameters(), .. Conv2.Parameters(), .. Norm2.Parameters(),
        .. Conv3.Parameters(), .. Norm3.Parameters(),
        .. DownsampleConv?.Parameters() ?? [], .. DownsampleNorm?.Parameters() ?? [],
    ];
}
