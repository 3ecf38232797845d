// The ResNetV2 modules of the R26+ViT hybrid: timm parameter names, output shapes with SAME padding
// on odd sizes, the zero-initialised last norm (a fresh block is ReLU of its shortcut), and
// gradients reaching every parameter.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Nn;

public class ResNetBlocksTests
{
    private static Device Cpu => Backends.Cpu;

    [Fact]
    public void The_stem_has_timm_names_and_quarters_odd_images()
    {
        using var stem = new ResNetStem(Cpu, "patch_embed.backbone.stem", new Random(1));
        stem.Parameters().Select(p => p.Name).Should().Equal(
            "patch_embed.backbone.stem.conv.weight", "patch_embed.backbone.stem.norm.weight", "patch_embed.backbone.stem.norm.bias");
        stem.Conv.Weight.Shape.Dims.ToArray().Should().Equal(64, 3, 7, 7);
        using var x = new Variable(Cpu.FromArray(TestData.Uniform(1, 3 * 31 * 33), 1, 3, 31, 33));
        using var tape = Tape.NoGrad();
        var y = stem.Forward(tape, x);
        y.Shape.Dims.ToArray().Should().Equal(1, 64, 8, 9);   // 31 -> 16 -> 8, 33 -> 17 -> 9
        y.Value.ToArray().Should().OnlyContain(v => v >= 0 && float.IsFinite(v), "the pool follows a ReLU");
    }

    [Fact]
    public void A_fresh_bottleneck_is_the_rectified_shortcut()
    {
        using var block = new Bottleneck(Cpu, "stages.1.blocks.0", 64, 128, 2, downsample: true, new Random(2));
        block.Parameters().Select(p => p.Name!["stages.1.blocks.0.".Length..]).Should().Equal(
            "conv1.weight", "norm1.weight", "norm1.bias", "conv2.weight", "norm2.weight", "norm2.bias",
            "conv3.weight", "norm3.weight", "norm3.bias", "downsample.conv.weight", "downsample.norm.weight", "downsample.norm.bias");
        block.Conv2.Stride.Should().Be(2);
        block.Conv1.Weight.Shape.Dims.ToArray().Should().Equal(32, 64, 1, 1);
        using var x = new Variable(Cpu.FromArray(TestData.Uniform(3, 2 * 64 * 7 * 9), 2, 64, 7, 9));
        using var tape = Tape.NoGrad();
        var y = block.Forward(tape, x);
        y.Shape.Dims.ToArray().Should().Equal(2, 128, 4, 5);
        var shortcut = tape.Relu(block.DownsampleNorm!.Forward(tape, block.DownsampleConv!.Forward(tape, x)));
        Check.Close(y.Value.ToArray(), shortcut.Value.ToArray().ToDouble(), 0, 0, "block with norm3.weight = 0");
    }

    [Fact]
    public void Gradients_reach_every_parameter_of_a_bottleneck()
    {
        using var block = new Bottleneck(Cpu, "b", 128, 128, 1, downsample: false, new Random(4), zeroInitLast: false);
        using var x = new Variable(Cpu.FromArray(TestData.Uniform(5, 128 * 5 * 3), 1, 128, 5, 3), requiresGrad: true);
        using (var tape = new Tape())
        {
            var y = block.Forward(tape, x);
            tape.Backward(y, Cpu.FromArray(TestData.Uniform(6, (int)y.Shape.Length), y.Shape.Dims.ToArray()));
        }
        foreach (var p in block.Parameters().Append(x))
            p.Grad!.ToArray().Should().Contain(g => g != 0f, $"{p} should get a gradient");
        FluentActions.Invoking(() => new Bottleneck(Cpu, "bad", 64, 128, 1, downsample: false, new Random(1)))
            .Should().Throw<ArgumentException>().WithMessage("*needs a downsample*");
    }
}
