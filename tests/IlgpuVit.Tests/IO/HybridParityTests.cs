// Hybrid ViT-S parity with torch (issue 6, item 7): scripts/make_hybrid_fixtures.py builds a small timm
// vit_small_r26_s32_224 by hand (ResNetV2 stem and bottlenecks with weight-standardised SAME convs and
// GroupNorm, 1x1 projection, ViT trunk) and computes its logits in float64. The weights are drawn from
// GeneratedWeights on both sides; here they are written under the file's timm names and shapes, imported
// strictly, and this project's embedding tokens and logits must match torch's within 1e-4 relative.
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.IO;

public sealed class HybridParityTests : IDisposable
{
    private static readonly string Fixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "hybrid_reference.safetensors");

    /// <summary>The script's CONFIG: 64 px, backbone 1,1,1,1 (stride 32: 2x2 tokens + CLS), width 64, depth 2, 2 heads, MLP 128, 5 classes.</summary>
    private static readonly VitConfig Config = new("hybrid-parity", 64, 32, 3, 64, 2, 2, 128, 5, Backbone: "1,1,1,1");

    private readonly TempFolder _folder = new();
    private readonly SafeTensorsFile _reference = SafeTensorsFile.Open(Fixture);

    public void Dispose()
    {
        _reference.Dispose();
        _folder.Dispose();
    }

    private List<GeneratedWeights.Entry> Manifest => GeneratedWeights.Parse(_reference.Metadata["weights"]);

    /// <summary>The torch model's state dict as a safetensors file: its timm names and shapes, the generated values.</summary>
    private string WriteWeights()
    {
        string path = _folder.File("hybrid.safetensors");
        SafeTensors.Write(path, Manifest.Select(e => new SafeTensor(e.Name, e.Shape, e.Values())));
        return path;
    }

    [Fact]
    public void The_generator_matches_the_script_bit_for_bit()
    {
        var checks = _reference.Tensors.Keys.Where(k => k.StartsWith("check.", StringComparison.Ordinal)).ToList();
        checks.Should().HaveCount(4);
        var manifest = Manifest.ToDictionary(e => e.Name);
        foreach (var key in checks)
        {
            var entry = manifest[key["check.".Length..]];
            _reference.Info(key).Shape.Should().Equal(entry.Shape, key);
            entry.Values().Should().Equal(_reference.ReadSingles(key), key);
        }
    }

    [Fact]
    public void The_torch_state_dict_is_timms_hybrid_layout()
    {
        var shapes = Manifest.ToDictionary(e => e.Name, e => e.Shape);
        // cls, pos; stem conv + GN; per stage one block of 3 convs, 3 GNs and the downsample conv + GN; proj; 2 blocks; norm; head.
        shapes.Should().HaveCount(2 + 3 + 4 * 12 + 2 + 2 * 12 + 2 + 2);
        shapes["patch_embed.backbone.stem.conv.weight"].Should().Equal(64, 3, 7, 7);
        shapes["patch_embed.backbone.stages.3.blocks.0.downsample.conv.weight"].Should().Equal(2048, 1024, 1, 1);
        shapes["patch_embed.backbone.stages.2.blocks.0.conv2.weight"].Should().Equal(256, 256, 3, 3);
        shapes["patch_embed.proj.weight"].Should().Equal(64, 2048, 1, 1);
        shapes["pos_embed"].Should().Equal(1, 5, 64);
        shapes["head.weight"].Should().Equal(5, 64);
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Hybrid_weights_reproduce_the_torch_tokens_and_logits(string backend)
    {
        using var model = new VisionTransformer(Config, Backends.Get(backend));
        var report = WeightImporter.Import(WriteWeights(), model);

        report.IsComplete.Should().BeTrue(report.ToString());
        report.Loaded.Should().BeEquivalentTo(Manifest.Select(e => e.Name)).And.Equal(model.Parameters().Select(p => p.Name));
        report.Notes.Should().BeEmpty();

        var info = _reference.Info("input");
        using var images = Tensor<float>.FromArray(model.Device, _reference.ReadSingles("input"), info.Shape);
        using var tape = Tape.NoGrad();
        // 1e-4 relative, plus 5e-5 absolute for values near zero: float32's own error on these outputs (of scale 1)
        // after the backbone is about 1e-5 (torch in float32 against float64: tokens 9.9e-6, logits 3.3e-6; here on
        // the CPU 9.1e-6 for the logits), and a logit of 0.025 cannot keep 1e-4 of itself.
        Check.Close(model.PatchEmbed.Forward(tape, images).Value.ToArray(), _reference.ReadSingles("tokens").ToDouble(),
            rtol: 1e-4, atol: 5e-5, what: "backbone + projection tokens");
        Check.Close(model.Forward(tape, images).Value.ToArray(), _reference.ReadSingles("logits").ToDouble(),
            rtol: 1e-4, atol: 5e-5, what: "logits");
    }
}
