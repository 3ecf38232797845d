// The weight importer against torch: a hand-written timm-layout ViT (scripts/make_import_fixtures.py,
// float64 reference logits) imported strictly must reproduce its logits within 1e-4 relative, at its
// own size and, with pos_embed resampled, at another; the torchvision fixture imports through the
// torchvision names. The rest checks the report and the options on files edited from that fixture:
// a new head, a distilled DeiT, F16/BF16 tensors, missing, mis-shaped, unexpected and non-float
// tensors, a non-square source grid; strict failures leave the model untouched; the import holds one
// tensor at a time, not the file.
using System.Buffers.Binary;
using System.Text;
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.IO;

public sealed class WeightImporterTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");
    private static readonly string TimmWeights = Path.Combine(Fixtures, "timm_vit.safetensors");
    private const int Parameters = 4 + 2 * 12 + 4;   // patch_embed 2, cls, pos; 12 per block; norm 2, head 2

    private readonly TempFolder _folder = new();
    private readonly SafeTensorsFile _reference = SafeTensorsFile.Open(Path.Combine(Fixtures, "import_reference.safetensors"));

    public void Dispose()
    {
        _reference.Dispose();
        _folder.Dispose();
    }

    /// <summary>The fixture's architecture (make_import_fixtures.py CONFIG) at another image size, class count or MLP width.</summary>
    private static VitConfig Config(int imageSize = 16, int classes = 7, int mlp = 64) => new("timm-parity", imageSize, 4, 3, 32, 2, 4, mlp, classes);

    private float[] Logits(VisionTransformer model, int imageSize)
    {
        var info = _reference.Info($"input_{imageSize}");
        using var images = Tensor<float>.FromArray(model.Device, _reference.ReadSingles(info.Name), info.Shape);
        using var tape = Tape.NoGrad();
        return model.Forward(tape, images).Value.ToArray();
    }

    private void ExpectReferenceLogits(VisionTransformer model, int imageSize) =>
        Check.Close(Logits(model, imageSize), _reference.ReadSingles($"logits_{imageSize}").ToDouble(), rtol: 1e-4, atol: 1e-6, what: $"logits at {imageSize} px");

    private static Dictionary<string, float[]> Values(VisionTransformer model) => model.Parameters().ToDictionary(p => p.Name!, p => p.Value.ToArray());

    private sealed record HostTensor(string Name, int[] Shape, float[] Values);

    private static List<HostTensor> ReadAll(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        return file.Tensors.Values.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => new HostTensor(t.Name, t.Shape, file.ReadSingles(t.Name))).ToList();
    }

    private string Write(string name, IEnumerable<HostTensor> tensors)
    {
        string path = _folder.File(name);
        SafeTensors.Write(path, tensors.Select(t => new SafeTensor(t.Name, t.Shape, t.Values)));
        return path;
    }

    [SkippableTheory]
    [MemberData(nameof(Backends.All), MemberType = typeof(Backends))]
    public void Timm_weights_reproduce_the_torch_logits(string backend)
    {
        using var model = new VisionTransformer(Config(), Backends.Get(backend));
        var report = WeightImporter.Import(TimmWeights, model);

        report.IsComplete.Should().BeTrue(report.ToString());
        report.Layout.Should().Be(WeightLayout.Timm);
        report.Loaded.Should().HaveCount(Parameters).And.Equal(model.Parameters().Select(p => p.Name));
        report.Converted.Should().BeEmpty();
        report.Skipped.Should().BeEmpty();
        report.Notes.Should().BeEmpty();
        ExpectReferenceLogits(model, 16);
    }

    [Fact]
    public void Another_image_size_resamples_pos_embed_as_timm()
    {
        using var model = new VisionTransformer(Config(imageSize: 24), Backends.Cpu);
        var report = WeightImporter.Import(TimmWeights, model);

        report.IsComplete.Should().BeTrue(report.ToString());
        report.Notes.Should().ContainSingle().Which.Should().Be("pos_embed resampled from a 4x4 to a 6x6 patch grid (bicubic, as timm's resample_abs_pos_embed).");
        ExpectReferenceLogits(model, 24);
    }

    [Fact]
    public void Without_resampling_a_grid_change_is_refused_and_the_model_left_untouched()
    {
        using var model = new VisionTransformer(Config(imageSize: 24), Backends.Cpu, seed: 3);
        var before = Values(model);
        var import = () => WeightImporter.Import(TimmWeights, model, new WeightImportOptions { ResamplePositionEmbedding = false });

        import.Should().Throw<WeightImportException>().WithMessage(
            $"{TimmWeights}: the weights do not fit model 'timm-parity'.\n1 mis-shaped: pos_embed: expected [1, 37, 32], found [1, 17, 32] " +
            "(the file's grid is 4x4, the model's 6x6: set ResamplePositionEmbedding).")
            .Which.Report.Loaded.Should().HaveCount(Parameters - 1);
        Values(model).Should().BeEquivalentTo(before, o => o.WithStrictOrdering(), "a strict failure writes nothing");
    }

    [Fact]
    public void Another_class_count_needs_AllowNewHead_and_keeps_the_fresh_head()
    {
        using var model = new VisionTransformer(Config(classes: 10), Backends.Cpu, seed: 5);
        var fresh = Values(model);
        var strict = () => WeightImporter.Import(TimmWeights, model);
        strict.Should().Throw<WeightImportException>()
            .WithMessage("*2 mis-shaped: head.weight: expected [10, 32], found [7, 32], head.bias: expected [10], found [7].");

        var report = WeightImporter.Import(TimmWeights, model, new WeightImportOptions { AllowNewHead = true });
        report.IsComplete.Should().BeTrue(report.ToString());
        report.Loaded.Should().HaveCount(Parameters - 2).And.NotContain(["head.weight", "head.bias"]);
        report.Skipped.Should().Equal(new SkippedKey("head.weight", "new head: the file's head has shape [7, 32]"),
            new SkippedKey("head.bias", "new head: the file's head has shape [7, 32]"));
        report.Notes.Should().Equal("New head: head.* kept at its initialisation for 10 classes (the file's head has shape [7, 32]).");
        var after = Values(model);
        after["head.weight"].Should().Equal(fresh["head.weight"]);
        after["norm.weight"].Should().Equal(ReadAll(TimmWeights).Single(t => t.Name == "norm.weight").Values);
    }

    [Fact]
    public void A_file_without_a_head_is_missing_it_unless_a_new_head_is_allowed()
    {
        string path = Write("headless.safetensors", ReadAll(TimmWeights).Where(t => !t.Name.StartsWith("head.")));
        using var model = new VisionTransformer(Config(), Backends.Cpu);
        var report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false });
        report.Missing.Should().Equal("head.weight", "head.bias");
        report.DescribeProblems().Should().Be("2 missing: head.weight, head.bias.");

        report = WeightImporter.Import(path, model, new WeightImportOptions { AllowNewHead = true });
        report.IsComplete.Should().BeTrue();
        report.Notes.Should().Equal("New head: head.* kept at its initialisation for 7 classes (the file has no head).");
    }

    /// <summary>The fixture as a distilled DeiT would hold it: dist_token, head_dist.*, and a distillation row 1 in pos_embed.</summary>
    private string DistilledFile()
    {
        var tensors = ReadAll(TimmWeights).Select(t =>
        {
            if (t.Name != "pos_embed") return t;
            var rows = new List<float>(t.Values[..32]);
            rows.AddRange(TestData.Uniform(9, 32));            // the distillation token's position
            rows.AddRange(t.Values[32..]);
            return t with { Shape = [1, t.Shape[1] + 1, 32], Values = rows.ToArray() };
        }).ToList();
        tensors.Add(new HostTensor("dist_token", [1, 1, 32], TestData.Uniform(10, 32)));
        tensors.Add(new HostTensor("head_dist.weight", [7, 32], TestData.Uniform(11, 7 * 32)));
        tensors.Add(new HostTensor("head_dist.bias", [7], TestData.Uniform(12, 7)));
        return Write("deit_distilled.safetensors", tensors);
    }

    [Fact]
    public void A_distilled_DeiT_reports_its_distillation_token_unless_dropped()
    {
        string path = DistilledFile();
        using var model = new VisionTransformer(Config(), Backends.Cpu);
        var report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false });

        report.Unexpected.Should().Equal("dist_token", "head_dist.bias", "head_dist.weight");
        report.Mismatched.Should().ContainSingle().Which.ToString().Should().Be(
            "pos_embed: expected [1, 17, 32], found [1, 18, 32] (a distilled DeiT's pos_embed has 2 prefix rows (CLS, distillation): set DropDistillation to drop the second)");
        ((Action)(() => WeightImporter.Import(path, model))).Should().Throw<WeightImportException>()
            .WithMessage("*3 unexpected: dist_token, head_dist.bias, head_dist.weight.\n1 mis-shaped: pos_embed*");
    }

    [Theory]
    [InlineData(16)]
    [InlineData(24)]
    public void A_dropped_distillation_token_leaves_the_CLS_model(int imageSize)
    {
        using var model = new VisionTransformer(Config(imageSize), Backends.Cpu);
        var report = WeightImporter.Import(DistilledFile(), model, new WeightImportOptions { DropDistillation = true });

        report.IsComplete.Should().BeTrue(report.ToString());
        report.Skipped.Select(s => s.FileKey).Should().Equal("dist_token", "head_dist.bias", "head_dist.weight");
        report.Notes[0].Should().StartWith("Distilled DeiT: dist_token, its pos_embed row and head_dist.* dropped");
        report.Notes.Should().HaveCount(imageSize == 16 ? 1 : 2);
        ExpectReferenceLogits(model, imageSize);
    }

    [Fact]
    public void F16_and_BF16_tensors_are_converted_one_by_one()
    {
        // Every other parameter (in model order) as F16, the rest as BF16 (truncated), written by hand.
        using var model = new VisionTransformer(Config(), Backends.Cpu);
        var order = model.Parameters().Select(p => p.Name!).ToList();
        var tensors = ReadAll(TimmWeights).OrderBy(t => order.IndexOf(t.Name)).ToList();
        var header = new StringBuilder("{");
        var data = new List<byte>();
        var expected = new Dictionary<string, float[]>();
        for (int i = 0; i < tensors.Count; i++)
        {
            var (name, shape, values) = tensors[i];
            bool half = i % 2 == 0;
            var bits = values.Select(v => half ? BitConverter.HalfToUInt16Bits((Half)v) : (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray();
            expected[name] = bits.Select(b => half ? (float)BitConverter.UInt16BitsToHalf(b) : BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray();
            header.Append($"{(i > 0 ? "," : "")}\"{name}\":{{\"dtype\":\"{(half ? "F16" : "BF16")}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{data.Count},{data.Count + 2 * bits.Length}]}}");
            foreach (var b in bits) { data.Add((byte)b); data.Add((byte)(b >> 8)); }
        }
        string path = _folder.Craft("sixteen.safetensors", Encoding.UTF8.GetBytes(header.Append('}').ToString()), data.ToArray());

        var report = WeightImporter.Import(path, model);
        report.IsComplete.Should().BeTrue(report.ToString());
        report.Converted.Should().HaveCount(Parameters);
        report.Converted[0].Should().Be(new ConvertedKey("patch_embed.proj.weight", SafeTensorDType.F16));
        report.Converted[1].Should().Be(new ConvertedKey("patch_embed.proj.bias", SafeTensorDType.BF16));
        report.ToString().Should().Be($"{path} (Timm layout): {Parameters} parameters loaded, converted to F32: 16 F16, 16 BF16.");
        Values(model).Should().BeEquivalentTo(expected);
    }

    [Fact]
    public void Torchvision_weights_import_through_their_names()
    {
        string path = Path.Combine(Fixtures, "torchvision_vit.safetensors");
        using var model = new VisionTransformer(new VitConfig("torchvision-parity", 12, 4, 3, 16, 2, 2, 64, 5), Backends.Cpu);
        var strict = () => WeightImporter.Import(path, model);
        strict.Should().Throw<WeightImportException>().WithMessage(
            "*37 unexpected: check, grad.class_token, grad.conv_proj.bias, grad.conv_proj.weight, grad.encoder.layers.encoder_layer_0.ln_1.bias, " +
            "grad.encoder.layers.encoder_layer_0.ln_1.weight, grad.encoder.layers.encoder_layer_0.ln_2.bias, grad.encoder.layers.encoder_layer_0.ln_2.weight and 29 more.");

        // The fixture also holds the batch, logits and gradients: unexpected, and harmless when not strict.
        var report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false });
        report.Layout.Should().Be(WeightLayout.Torchvision);
        report.Loaded.Should().HaveCount(Parameters);
        report.Missing.Should().BeEmpty();
        report.Mismatched.Should().BeEmpty();
        report.Unexpected.Where(k => !k.StartsWith("grad.")).Should().Equal("check", "input", "labels", "logits", "loss");
        using var file = SafeTensorsFile.Open(path);
        using var images = Tensor<float>.FromArray(model.Device, file.ReadSingles("input"), file.Info("input").Shape);
        using var tape = Tape.NoGrad();
        Check.Close(model.Forward(tape, images).Value.ToArray(), file.ReadSingles("logits").ToDouble(), rtol: 1e-4, atol: 1e-6, what: "logits");
    }

    [Fact]
    public void Missing_and_mis_shaped_parameters_keep_their_initialisation_when_not_strict()
    {
        // Block 1 left out of the file; the model's MLP is 48 wide where the file's is 64.
        string path = Write("partial.safetensors", ReadAll(TimmWeights).Where(t => !t.Name.StartsWith("blocks.1.")));
        using var model = new VisionTransformer(Config(mlp: 48), Backends.Cpu, seed: 4);
        var fresh = Values(model);
        var report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false });

        report.Missing.Should().HaveCount(12).And.OnlyContain(n => n.StartsWith("blocks.1."));
        report.Mismatched.Select(m => m.ToString()).Should().Equal(
            "blocks.0.mlp.fc1.weight: expected [48, 32], found [64, 32]",
            "blocks.0.mlp.fc1.bias: expected [48], found [64]",
            "blocks.0.mlp.fc2.weight: expected [32, 48], found [32, 64]");
        report.Loaded.Should().HaveCount(Parameters - 12 - 3).And.Contain("blocks.0.mlp.fc2.bias");
        report.DescribeProblems().Should().StartWith("12 missing: blocks.1.norm1.weight, blocks.1.norm1.bias, blocks.1.attn.qkv.weight")
            .And.Contain("and 4 more.\n3 mis-shaped: ");
        var after = Values(model);
        after["blocks.1.attn.qkv.weight"].Should().Equal(fresh["blocks.1.attn.qkv.weight"]);
        after["blocks.0.mlp.fc1.weight"].Should().Equal(fresh["blocks.0.mlp.fc1.weight"]);
        after["blocks.0.attn.qkv.weight"].Should().NotEqual(fresh["blocks.0.attn.qkv.weight"]);
    }

    [Fact]
    public void A_non_float_tensor_does_not_fit_a_parameter()
    {
        var tensors = ReadAll(TimmWeights).Where(t => t.Name != "norm.bias").Select(t => new SafeTensor(t.Name, t.Shape, t.Values)).ToList();
        tensors.Add(new SafeTensor("norm.bias", [32], new int[32]));
        string path = _folder.File("int.safetensors");
        SafeTensors.Write(path, tensors);
        using var model = new VisionTransformer(Config(), Backends.Cpu);
        var report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false });
        report.Mismatched.Should().ContainSingle().Which.Should().BeEquivalentTo(
            new ShapeMismatch("norm.bias", "norm.bias", [32], [32], "dtype I32 is not a float type"));
    }

    [Fact]
    public void A_non_square_source_grid_needs_SourceGrid()
    {
        // pos_embed over a 3x5 grid (15 patches), into the 4x4 model.
        var pos = TestData.Uniform(13, (1 + 15) * 32);
        string path = Write("wide.safetensors", ReadAll(TimmWeights).Select(t => t.Name == "pos_embed" ? t with { Shape = [1, 16, 32], Values = pos } : t));
        using var model = new VisionTransformer(Config(), Backends.Cpu);

        var report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false });
        report.Mismatched.Single().Reason.Should().Be("15 grid rows are not a square grid: set SourceGrid");
        report = WeightImporter.Import(path, model, new WeightImportOptions { Strict = false, SourceGrid = new PatchGrid(4, 4) });
        report.Mismatched.Single().Reason.Should().Be("SourceGrid 4x4 has 16 patches, the file 15");

        report = WeightImporter.Import(path, model, new WeightImportOptions { SourceGrid = new PatchGrid(3, 5) });
        report.Notes.Should().Equal("pos_embed resampled from a 3x5 to a 4x4 patch grid (bicubic, as timm's resample_abs_pos_embed).");
        Values(model)["pos_embed"].Should().Equal(PositionEmbeddingResampler.Resample(pos, 32, 1, new PatchGrid(3, 5), PatchGrid.Square(4)));
    }

    [Fact]
    public void The_import_holds_one_tensor_at_a_time_not_the_file()
    {
        // A 3.2 MB file whose largest tensor is 256 KB: reading it whole would allocate at least the file's size.
        var config = new VitConfig("memory", 32, 4, 3, 128, 4, 4, 512, 10);
        using var source = new VisionTransformer(config, Backends.Cpu, seed: 1);
        string path = _folder.File("memory.safetensors");
        TrainingCheckpoint.Save(path, source);
        using var model = new VisionTransformer(config, Backends.Cpu, seed: 2);
        WeightImporter.Import(path, model);   // warm-up: JIT and first-use allocations

        long before = GC.GetAllocatedBytesForCurrentThread();
        WeightImporter.Import(path, model);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        new FileInfo(path).Length.Should().BeGreaterThan(3_000_000);
        allocated.Should().BeLessThan(1_000_000, "one buffer of the largest tensor (256 KB) plus bookkeeping");
        var expected = Values(source);
        foreach (var (name, values) in Values(model))
            values.AsSpan().SequenceEqual(expected[name]).Should().BeTrue(name);
    }

    [Fact]
    public void A_training_checkpoint_imports_its_weights_and_skips_its_optimizer_state()
    {
        // An experiment's `init` is a training checkpoint: weights plus AdamW's moments.
        var config = new VitConfig("trained", 8, 4, 1, 8, 2, 2, 16, 3);
        using var source = new VisionTransformer(config, Backends.Cpu, seed: 1);
        using var optimizer = new AdamW(source.Parameters().ToArray(), 0.05f);
        string path = _folder.File("trained.safetensors");
        TrainingCheckpoint.Save(path, source, optimizer, new TrainingOptions());
        using var model = new VisionTransformer(config, Backends.Cpu, seed: 2);
        var report = WeightImporter.Import(path, model);
        report.Unexpected.Should().BeEmpty();
        report.Skipped.Should().NotBeEmpty().And.OnlyContain(k => k.Reason == "optimizer state of a training checkpoint");
        var expected = Values(source);
        foreach (var (name, values) in Values(model))
            values.AsSpan().SequenceEqual(expected[name]).Should().BeTrue(name);
    }
}
