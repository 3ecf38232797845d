// The hybrid ViT-S (timm vit_small_r26_s32_224): timm's key names and shapes, 49 tokens + CLS at 224 px,
// the FLOPs split of docs/flops.md (backbone about 2.34 GMACs, transformer with projection and head about 1.12),
// the feature-map-to-token transpose against its definition and its gradient, and a small hybrid
// that trains a few steps with gradients reaching the backbone.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;
using static IlgpuVit.Tests.Autodiff.GradCheck;

namespace IlgpuVit.Tests.Nn;

public class HybridVitTests
{
    private static Device Cpu => Backends.Cpu;

    [Fact]
    public void Registry_hybrid_has_timm_names_and_fifty_tokens()
    {
        var config = ModelRegistry.Get("vit_small_r26_s32_224");
        config.Tokens.Should().Be(50, "7 x 7 feature pixels + CLS");
        using var model = new VisionTransformer(config, Cpu);
        var shapes = model.Parameters().ToDictionary(p => p.Name!, p => p.Shape.Dims.ToArray());
        shapes["patch_embed.backbone.stem.conv.weight"].Should().Equal(64, 3, 7, 7);
        shapes["patch_embed.backbone.stages.0.blocks.0.downsample.conv.weight"].Should().Equal(256, 64, 1, 1);
        shapes["patch_embed.backbone.stages.3.blocks.1.conv3.weight"].Should().Equal(2048, 512, 1, 1);
        shapes["patch_embed.proj.weight"].Should().Equal(384, 2048, 1, 1);
        shapes["pos_embed"].Should().Equal(1, 50, 384);
        shapes.Keys.Should().NotContain(k => k.Contains("stages.4") || k.Contains("blocks.2.conv"), "R26 has stages of two blocks");
        shapes.Count(k => k.Key.StartsWith("patch_embed.backbone.stages.", StringComparison.Ordinal)).Should().Be(8 * 9 + 4 * 3);
    }

    [Fact]
    public void Flops_split_between_backbone_and_transformer_as_flops_md()
    {
        var config = ModelRegistry.Get("vit_small_r26_s32_224");
        double backbone = HybridEmbedding.Macs(3, [2, 2, 2, 2], 384, 224), projection = 49.0 * 384 * 2048;
        (backbone - projection).Should().BeApproximately(2.34e9, 0.03e9, "docs/flops.md: the ResNet-26 stem is about 2.34 GMACs");
        (Flops.Macs(config) - backbone + projection).Should().BeApproximately(1.12e9, 0.03e9, "the transformer on 50 tokens with projection and head");
        Flops.EmbeddingMacs(config).Should().Be(backbone);
        Flops.BackboneMacs(config).Should().Be(backbone - projection, "what eval reports apart from the transformer part");
        Flops.BackboneMacs(ModelRegistry.Get("vit_small_patch16_224")).Should().Be(0);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(2, 7, 9)]
    [InlineData(3, 33, 31)]
    public void Transpose_swaps_the_last_two_axes_with_its_gradient(int b, int m, int n) =>
        Run(Cpu, [In(1, 1f, b, m, n)], (t, v) => t.TransposeLast2(v[0]), x =>
        {
            var y = new double[b * m * n];
            for (int i = 0; i < b; i++)
                for (int r = 0; r < m; r++)
                    for (int c = 0; c < n; c++) y[(i * n + c) * m + r] = x[0][(i * m + r) * n + c];
            return y;
        });

    [Fact]
    public void A_small_hybrid_trains_with_gradients_into_the_backbone()
    {
        // 64 px: the backbone's stride 32 leaves 2 x 2 tokens + CLS; a 2-block, 64-wide trunk.
        var config = new VitConfig("hybrid-test", 64, 32, 3, 64, 2, 2, 128, 3, Backbone: "1,1,1,1");
        var random = new Random(5);
        var labels = Enumerable.Range(0, 32).Select(i => i % 3).ToArray();
        var pixels = new byte[32 * 3 * 64 * 64];
        for (int i = 0; i < 32; i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 64 * 64; p++) pixels[(i * 3 + c) * 64 * 64 + p] = (byte)(random.Next(100) + (labels[i] == c ? 120 : 0));
        var options = new TrainingOptions { Epochs = 4, BatchSize = 8, LearningRate = 1e-3f, WarmupEpochs = 0.25f, CropPadding = 0, HorizontalFlip = false };
        using var model = new VisionTransformer(config, Cpu, seed: 1);
        using var trainer = new Trainer(model, new ImageDataset(pixels, labels, 3, 64, 64, 3), options, Normalization.Identity(3));
        var losses = new List<float>();
        while (!trainer.Finished) losses.AddRange(trainer.RunEpoch().Select(s => s.Loss));
        losses.Should().OnlyContain(l => float.IsFinite(l));
        losses.TakeLast(4).Average().Should().BeLessThan(losses.Take(4).Average(), "the hybrid learns");
        var stem = ((HybridEmbedding)model.PatchEmbed).Stem.Conv.Weight;
        stem.Grad!.ToArray().Should().Contain(g => g != 0f, "gradients reach the stem through the backbone");
    }
}
