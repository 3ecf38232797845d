using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Nn;

public class ModelTests
{
    [Theory]
    [InlineData("vit_tiny_patch16_224", 5_717_416)]
    [InlineData("vit_small_patch16_224", 22_050_664)]
    [InlineData("vit_micro_patch4_28", 305_034)]
    public void Parameter_counts_match_timm_and_the_peer(string name, long expected)
    {
        // timm: vit_tiny 5,717,416 and vit_small 22,050,664 parameters; the libtorch peer of docs/backends.md has 305K.
        using var model = new VisionTransformer(ModelRegistry.Get(name), Backends.Cpu);
        model.ParameterCount.Should().Be(expected);
    }

    [Fact]
    public void Parameters_carry_timm_state_dict_names_and_shapes()
    {
        using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), Backends.Cpu);
        var shapes = model.Parameters().ToDictionary(p => p.Name!, p => p.Shape.ToString());
        shapes["patch_embed.proj.weight"].Should().Be("(64, 1, 4, 4)");
        shapes["cls_token"].Should().Be("(1, 1, 64)");
        shapes["pos_embed"].Should().Be("(1, 50, 64)");
        shapes["blocks.5.attn.qkv.weight"].Should().Be("(192, 64)");
        shapes["blocks.5.mlp.fc2.weight"].Should().Be("(64, 256)");
        shapes["head.weight"].Should().Be("(10, 64)");
        shapes.Should().HaveCount(4 + 6 * 12 + 4);
    }

    [Fact]
    public void Initialisation_follows_timm_and_depends_only_on_the_seed()
    {
        var config = ModelRegistry.Get("vit_micro_patch4_28");
        using var a = new VisionTransformer(config, Backends.Cpu, seed: 7);
        using var b = new VisionTransformer(config, Backends.Cpu, seed: 7);
        using var c = new VisionTransformer(config, Backends.Cpu, seed: 8);
        a.Head.Weight.Value.ToArray().Should().Equal(b.Head.Weight.Value.ToArray());
        a.Head.Weight.Value.ToArray().Should().NotEqual(c.Head.Weight.Value.ToArray());
        var qkv = a.Blocks[0].Attn.Qkv.Weight.Value.ToArray();
        double std = Math.Sqrt(qkv.Average(v => (double)v * v));
        std.Should().BeInRange(0.015, 0.02, "truncated normal 0.02 cut at two sigma has std 0.0176");
        qkv.Max(Math.Abs).Should().BeLessThanOrEqualTo(0.04f);
        a.Blocks[0].Attn.Qkv.Bias.Value.ToArray().Should().OnlyContain(v => v == 0);
        a.Blocks[0].Norm1.Weight.Value.ToArray().Should().OnlyContain(v => v == 1);
    }

    [Fact]
    public void Unknown_models_and_inconsistent_configurations_are_named()
    {
        var act = () => ModelRegistry.Get("vit_huge");
        act.Should().Throw<ArgumentException>().WithMessage("Unknown model 'vit_huge'. Known models: vit_tiny_patch16_224*");
        var bad = () => new VitConfig("odd", 30, 4, 1, 64, 1, 4, 128, 10).Validate();
        bad.Should().Throw<ArgumentException>().WithMessage("*patch size 4 must divide image size 30*");
        bad = () => new VitConfig("odd", 28, 4, 1, 66, 1, 4, 128, 10).Validate();
        bad.Should().Throw<ArgumentException>().WithMessage("*embed dim 66 must split into 4 heads*");
    }

    [Fact]
    public void Images_of_the_wrong_shape_are_refused_with_both_shapes()
    {
        using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), Backends.Cpu);
        using var images = Backends.Cpu.Zeros(2, 3, 28, 28);
        using var tape = IlgpuVit.Autodiff.Tape.NoGrad();
        var act = () => model.Forward(tape, images);
        act.Should().Throw<ShapeMismatchException>().WithMessage("*images have shape (2, 3, 28, 28); the model takes (B, 1, 28, 28)*");
        using var flat = Backends.Cpu.Zeros(2, 784);
        act = () => model.Forward(tape, flat);
        act.Should().Throw<ShapeMismatchException>().WithMessage("*images have shape (2, 784)*");
    }

    [Theory]
    [InlineData("conv_proj.weight", "patch_embed.proj.weight")]
    [InlineData("class_token", "cls_token")]
    [InlineData("encoder.pos_embedding", "pos_embed")]
    [InlineData("encoder.layers.encoder_layer_11.self_attention.in_proj_weight", "blocks.11.attn.qkv.weight")]
    [InlineData("encoder.layers.encoder_layer_0.self_attention.out_proj.bias", "blocks.0.attn.proj.bias")]
    [InlineData("encoder.layers.encoder_layer_3.mlp.linear_2.weight", "blocks.3.mlp.fc2.weight")]
    [InlineData("encoder.ln.weight", "norm.weight")]
    [InlineData("heads.head.bias", "head.bias")]
    [InlineData("input", null)]
    public void Torchvision_names_map_to_timm(string torchvision, string? timm) => TorchvisionNames.ToTimm(torchvision).Should().Be(timm);

    [Fact]
    public void Inference_without_probabilities_gives_the_logits_of_a_forward_that_keeps_them()
    {
        // On the GPU simulator a no-grad forward without reducers asks for no probabilities (the fused attention
        // kernel); a recording tape keeps them for the backward (the composed path). Same logits within fp32 noise.
        var device = Backends.GpuSimulator;
        using var model = new VisionTransformer(ModelRegistry.Get("vit_micro_patch4_28"), device, seed: 3);
        using var images = device.FromArray(TestData.Uniform(4, 2 * 28 * 28, 1f), 2, 1, 28, 28);
        using var inference = Tape.NoGrad();
        var fused = model.Forward(inference, images).Value.ToArray();
        using var training = new Tape();
        var kept = model.Forward(training, images).Value.ToArray();
        Check.Close(fused, kept.ToDouble(), 1e-4, 1e-5, "logits without and with P");
    }
}
