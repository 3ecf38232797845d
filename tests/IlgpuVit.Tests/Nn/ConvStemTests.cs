// The convolutional stem (docs/models.md, "Convolutional stem"): its names, widths and refusals, its forward
// against a float64 composition of the definitions (conv, GroupNorm, ReLU, 1x1 projection) on odd image
// sizes, its MACs against a hand count, and a small model with it that learns.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Kernels;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Kernels.Convolution;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Nn;

public class ConvStemTests
{
    private static Device Cpu => Backends.Cpu;

    [Fact]
    public void Registry_model_has_two_stages_of_16_and_32_channels_and_fifty_tokens()
    {
        var config = ModelRegistry.Get("vit_micro_conv4_28");
        config.Tokens.Should().Be(50);
        using var model = new VisionTransformer(config, Cpu);
        var shapes = model.Parameters().ToDictionary(p => p.Name!, p => p.Shape.Dims.ToArray());
        shapes["patch_embed.stem.0.conv.weight"].Should().Equal(16, 1, 3, 3);
        shapes["patch_embed.stem.0.norm.weight"].Should().Equal(16);
        shapes["patch_embed.stem.1.conv.weight"].Should().Equal(32, 16, 3, 3);
        shapes["patch_embed.stem.1.norm.bias"].Should().Equal(32);
        shapes["patch_embed.proj.weight"].Should().Equal(64, 32, 1, 1);
        shapes["patch_embed.proj.bias"].Should().Equal(64);
        model.ParameterCount.Should().Be(305_034 - 64 * 16 + 16 * 9 + 32 * 16 * 9 + 2 * (16 + 32) + 64 * 32,
            "the patch projection's 16-wide weight gives way to the stem's convolutions, norms and a 32-wide projection");
    }

    [Fact]
    public void Macs_count_each_convolution_and_the_projection()
    {
        // 28 -> 14 -> 7 pixels: 14² x 16 x 1 x 9, 7² x 32 x 16 x 9, 7² x 64 x 32.
        double stem = 14 * 14 * 16 * 9 + 7 * 7 * 32 * 16 * 9 + 7 * 7 * 64 * 32;
        ConvStem.Macs(1, 4, 64, 28).Should().Be(stem);
        var conv = ModelRegistry.Get("vit_micro_conv4_28");
        var patch = ModelRegistry.Get("vit_micro_patch4_28");
        Flops.EmbeddingMacs(conv).Should().Be(stem);
        (Flops.Macs(conv) - Flops.Macs(patch)).Should().Be(stem - 49 * 64 * 16, "only the embedding differs");
        ConvStem.Macs(3, 8, 128, 33).Should().Be(17 * 17 * 16 * 3 * 9 + 9 * 9 * 32 * 16 * 9 + 5 * 5 * 64 * 32 * 9 + 5 * 5 * 128 * 64,
            "odd sizes round up at each stride-2 stage");
    }

    [Theory]
    [InlineData(2, 64)]
    [InlineData(4, 80)]
    public void Configurations_that_do_not_fit_are_refused_with_the_reason(int patch, int channels)
    {
        var bad = () => new VitConfig("stem-test", 24, patch == 2 ? 3 : patch, 1, channels, 1, 2, 32, 2, Stem: "conv").Validate();
        bad.Should().Throw<ArgumentException>().WithMessage(patch == 2 ? "*power of two*" : "*multiple of 32*");
        var unknown = () => new VitConfig("stem-test", 28, 4, 1, 64, 1, 2, 32, 2, Stem: "resnet").Validate();
        unknown.Should().Throw<ArgumentException>().WithMessage("*stem must be 'patch' or 'conv', got 'resnet'*");
        var hybrid = () => new VitConfig("stem-test", 64, 32, 3, 64, 1, 2, 32, 2, Backbone: "1,1,1,1", Stem: "conv").Validate();
        hybrid.Should().Throw<ArgumentException>().WithMessage("*backbone is its stem*");
    }

    [Theory]
    [InlineData(2, 1, 28, 4, 64)]
    [InlineData(1, 3, 17, 4, 32)]
    [InlineData(3, 2, 9, 2, 16)]
    public void Forward_matches_the_float64_composition(int batch, int inChannels, int size, int patch, int channels)
    {
        var stem = new ConvStem(Cpu, inChannels, patch, channels, new Random(3));
        var p = stem.Parameters().Select(v => v.Value.ToArray().Select(f => (double)f).ToArray()).ToArray();
        var images = Enumerable.Range(0, batch * inChannels * size * size).Select(i => (float)Math.Sin(i * 0.37)).ToArray();
        using var input = Tensor<float>.FromArray(Cpu, images, batch, inChannels, size, size);
        float[] actual;
        using (var tape = new Tape()) actual = stem.Forward(tape, input).Value.ToArray();

        var x = images.Select(v => (double)v).ToArray();
        int c = inChannels, h = size, k = 0;
        foreach (int width in ConvStem.Widths(patch, channels))
        {
            var g = new Conv2dGeometry(batch, c, h, h, 3, 3, 2, Padding2d.Symmetric(1));
            x = ConvReference.Conv2d(x, p[k], null, g, width);
            x = ConvReference.GroupNorm(x, p[k + 1], p[k + 2], batch, width, ConvStem.Groups).Select(v => Math.Max(v, 0)).ToArray();
            (c, h, k) = (width, g.OutHeight, k + 3);
        }
        // 1x1 projection over pixels: tokens (B, h·h, C).
        var expected = new double[batch * h * h * channels];
        for (int b = 0; b < batch; b++)
            for (int pixel = 0; pixel < h * h; pixel++)
                for (int o = 0; o < channels; o++)
                {
                    double sum = p[k + 1][o];
                    for (int i = 0; i < c; i++) sum += p[k][o * c + i] * x[(b * c + i) * h * h + pixel];
                    expected[(b * h * h + pixel) * channels + o] = sum;
                }
        Check.Close(actual, expected, rtol: 1e-4, atol: 1e-4);
        stem.Dispose();
    }

    [Fact]
    public void A_small_model_with_the_stem_learns_with_gradients_into_the_first_convolution()
    {
        var config = new VitConfig("stem-test", 16, 4, 1, 32, 2, 2, 64, 3, Stem: "conv");
        var random = new Random(5);
        var labels = Enumerable.Range(0, 48).Select(i => i % 3).ToArray();
        var pixels = new byte[48 * 16 * 16];
        for (int i = 0; i < 48; i++)
            for (int q = 0; q < 256; q++) pixels[i * 256 + q] = (byte)(random.Next(80) + (q / 16 / 6 == labels[i] ? 150 : 0));
        var options = new TrainingOptions { Epochs = 6, BatchSize = 8, LearningRate = 2e-3f, WarmupEpochs = 0.5f, HorizontalFlip = false };
        using var model = new VisionTransformer(config, Cpu, seed: 1);
        using var trainer = new Trainer(model, new ImageDataset(pixels, labels, 1, 16, 16, 3), options, Normalization.Identity(1));
        var losses = new List<float>();
        while (!trainer.Finished) losses.AddRange(trainer.RunEpoch().Select(s => s.Loss));
        losses.TakeLast(6).Average().Should().BeLessThan(0.8f * losses.Take(6).Average(), "the model learns the band each class brightens");
        model.Parameters().First(v => v.Name == "patch_embed.stem.0.conv.weight").Grad!.ToArray().Should().Contain(g => g != 0f);
    }
}
