// `ilgpuvit eval --weights` end to end on generated files (PretrainedFixtures): the accuracy equals a
// reference computed image by image from a model loaded by WeightImporter, GMACs match the FLOP count,
// latency is measured, the corrupt image is counted; --compare gives one table row per spec beside the
// unpruned model; --limit stops early without counting failures beyond it; a new head is sized to the
// folder; bad inputs exit 1 with one line; `eval --checkpoint` still works. These swap Console.Out and
// Console.Error, so they run beside nothing else.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Autodiff;
using IlgpuVit.Cli;
using IlgpuVit.IO;
using IlgpuVit.Images;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Data;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public class EvalWeightsCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly string _weights, _images;

    public EvalWeightsCommandTests()
    {
        _weights = PretrainedFixtures.Weights(_folder.File("micro.safetensors"));
        _images = PretrainedFixtures.ImageFolder(_folder.File("val"));
    }

    public void Dispose() => _folder.Dispose();

    private (int Code, string Output, string Error) Eval(params string[] extra) =>
        PretrainedFixtures.Invoke(EvalCommand.Create(),
            ["eval", "--weights", _weights, "--arch", PretrainedFixtures.Arch, "--data", _images, "--device", "cpu", "--batch", "3", "--latency-runs", "3", .. extra]);

    private static JsonElement Json(string output) => JsonDocument.Parse(output).RootElement;

    /// <summary>Top-1 and top-5 counted image by image, with the rank as "logits above the label's".</summary>
    private (double Top1, double Top5) Reference()
    {
        using var device = Device.Open("cpu");
        using var model = new VisionTransformer(ModelRegistry.Get(PretrainedFixtures.Arch), device);
        WeightImporter.Import(_weights, model);
        var loader = new ImageFolderLoader(ImageFolder.Scan(_images), new ImageFolderLoaderOptions
        {
            BatchSize = 1, Preprocess = new PreprocessOptions { ResizeTo = 35, Crop = 32 },
        });
        int top1 = 0, top5 = 0, count = 0;
        foreach (var batch in loader.Batches())
        {
            using var image = Tensor<float>.FromArray(device, batch.ImageSpan, 1, 3, 32, 32);
            using var tape = Tape.NoGrad();
            var logits = model.Forward(tape, image).Value.ToArray();
            int above = logits.Count(v => v > logits[batch.Labels[0]]);
            if (above == 0) top1++;
            if (above < 5) top5++;
            count++;
        }
        count.Should().Be(7);
        return (top1 / 7.0, top5 / 7.0);
    }

    [Fact]
    public void Weights_on_a_folder_give_the_reference_accuracy_gmacs_latency_and_count_the_corrupt_image()
    {
        var (code, output, error) = Eval("--json");
        code.Should().Be(0, error);
        var root = Json(output);
        root.GetProperty("images").GetInt32().Should().Be(7);
        root.GetProperty("skipped").GetInt32().Should().Be(1);
        root.GetProperty("skippedImages")[0].GetProperty("path").GetString().Should().EndWith(Path.Combine("b", "z.png"));
        root.GetProperty("classes").GetInt32().Should().Be(10, "the file's head has 10 classes");
        root.GetProperty("import").GetProperty("loaded").GetInt32().Should().Be(4 + 6 * 12 + 4, "every parameter of the micro model");
        var row = root.GetProperty("rows").EnumerateArray().Should().ContainSingle().Subject;
        row.GetProperty("method").GetString().Should().Be("none");
        var (top1, top5) = Reference();
        row.GetProperty("top1").GetDouble().Should().BeApproximately(top1, 1e-12);
        row.GetProperty("top5").GetDouble().Should().BeApproximately(top5, 1e-12);
        row.GetProperty("gmacsPerImage").GetDouble().Should().BeApproximately(Flops.Macs(ModelRegistry.Get(PretrainedFixtures.Arch)) / 1e9, 1e-12);
        row.GetProperty("flopsChangePercent").GetDouble().Should().BeApproximately(0, 1e-9);
        row.GetProperty("latencyMs").GetDouble().Should().BePositive();
        root.GetProperty("latencyBatch").GetInt32().Should().Be(3);
    }

    [Fact]
    public void Compare_prints_one_table_with_a_row_per_spec_beside_the_unpruned_model()
    {
        var (code, output, error) = Eval("--compare", "topk-vpa:rate=0.2; tome:r=4");
        code.Should().Be(0, error);
        string words = string.Join(' ', output.Split(default(char[]), StringSplitOptions.RemoveEmptyEntries));     // the title may wrap
        words.Should().Contain("80 parameters loaded").And.Contain("7 images, 1 skipped").And.Contain("top-5").And.Contain("latency Δ");
        var lines = output.Split('\n');
        foreach (var spec in new[] { "none", "topk-vpa:rate=0.2", "tome:r=4" })
            lines.Should().ContainSingle(l => l.Contains(" " + spec + " ") && l.Contains('%'), $"one row for {spec} (the caption has no %)");
        output.Should().Contain("skipped").And.Contain("z.png");

        (code, output, error) = Eval("--compare", "topk-vpa:rate=0.2;tome:r=4", "--json");
        code.Should().Be(0, error);
        var rows = Json(output).GetProperty("rows").EnumerateArray().ToList();
        rows.Select(r => r.GetProperty("method").GetString()).Should().Equal("none", "topk-vpa:rate=0.2", "tome:r=4");
        rows[0].GetProperty("latencyChangePercent").GetDouble().Should().Be(0, "none is the baseline, measured once");
        rows[1].GetProperty("flopsChangePercent").GetDouble().Should().BeNegative();
        rows[2].GetProperty("flopsChangePercent").GetDouble().Should().BeNegative();
        rows[2].GetProperty("tokensAfterLayer").EnumerateArray().Select(t => t.GetInt32()).Should().Equal(61, 57, 53, 49, 45, 41);
        foreach (var r in rows) r.GetProperty("top5").GetDouble().Should().BeGreaterThanOrEqualTo(r.GetProperty("top1").GetDouble());
        var (top1, _) = Reference();
        rows[0].GetProperty("top1").GetDouble().Should().BeApproximately(top1, 1e-12, "the unpruned row is the plain evaluation");
    }

    [Theory]
    [InlineData("4", 4, 0)]     // stops before the corrupt sixth image: its failure (decoded ahead) is not counted
    [InlineData("6", 6, 1)]
    [InlineData("1", 1, 0)]
    public void Limit_evaluates_the_first_readable_images(string limit, int images, int skipped)
    {
        var (code, output, error) = Eval("--limit", limit, "--json");
        code.Should().Be(0, error);
        var root = Json(output);
        root.GetProperty("images").GetInt32().Should().Be(images);
        root.GetProperty("skipped").GetInt32().Should().Be(skipped);
        root.GetProperty("latencyBatch").GetInt32().Should().Be(Math.Min(images, 3));
    }

    [Fact]
    public void A_new_head_is_sized_to_the_folder_and_a_mismatched_head_fails_without_it()
    {
        string other = PretrainedFixtures.Weights(_folder.File("seven.safetensors"), classes: 2);
        var (code, _, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--weights", other, "--arch", PretrainedFixtures.Arch,
            "--data", _images, "--device", "cpu", "--json");
        code.Should().Be(1);
        error.Should().StartWith("error: ").And.Contain("has 3 class folders but the head of").And.Contain("predicts 2 classes");

        (code, var output, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--weights", other, "--arch", PretrainedFixtures.Arch,
            "--data", _images, "--device", "cpu", "--allow-new-head", "--latency-runs", "1", "--json");
        code.Should().Be(0, error);
        var root = Json(output);
        root.GetProperty("classes").GetInt32().Should().Be(3);
        root.GetProperty("import").GetProperty("notes")[0].GetString().Should().StartWith("New head");
        root.GetProperty("import").GetProperty("skipped").EnumerateArray().Select(k => k.GetString()).Should().BeEquivalentTo("head.weight", "head.bias");
    }

    [Fact]
    public void Weights_of_another_architecture_fail_strictly()
    {
        var (code, _, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--weights", _weights, "--arch", "vit_mini_patch4_32",
            "--data", _images, "--device", "cpu");
        code.Should().Be(1);
        error.Should().StartWith("error: ").And.Contain("do not fit model 'vit_mini_patch4_32'").And.Contain("mis-shaped");
    }

    [Theory]
    [InlineData("--data", "missing-folder", "does not exist")]
    [InlineData("--arch", "vit_gigantic", "Unknown model 'vit_gigantic'")]
    [InlineData("--arch", "vit_micro_patch4_28", "takes 1-channel images")]
    [InlineData("--weights", "absent.safetensors", "absent.safetensors")]
    [InlineData("--checkpoint", "x.safetensors", "--checkpoint and --weights are exclusive")]
    [InlineData("--compare", "tome:r=2;nope:rate=0.1", "nope")]
    [InlineData("--preprocess", "inception", "Unknown --preprocess 'inception'")]
    [InlineData("--batch", "-2", "--batch must be at least 1")]
    public void Bad_inputs_exit_1_with_one_line(string option, string value, string problem)
    {
        var values = new Dictionary<string, string> { ["--weights"] = _weights, ["--arch"] = PretrainedFixtures.Arch, ["--data"] = _images };
        values[option] = option is "--data" or "--weights" ? _folder.File(value) : value;
        var (code, _, error) = PretrainedFixtures.Invoke(EvalCommand.Create(),
            ["eval", "--device", "cpu", .. values.SelectMany(kv => new[] { kv.Key, kv.Value })]);
        code.Should().Be(1);
        error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Should().ContainSingle().Which.Should().StartWith("error: ").And.Contain(problem);
    }

    [Fact]
    public void Neither_mode_or_method_with_compare_exit_1()
    {
        var (code, _, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--device", "cpu");
        code.Should().Be(1);
        error.Should().Contain("Give --checkpoint FILE");
        (code, _, error) = Eval("--method", "tome:r=2", "--compare", "topk:rate=0.1");
        code.Should().Be(1);
        error.Should().Contain("--method and --compare are exclusive");
    }

    [Fact]
    public void Checkpoint_mode_still_evaluates_a_data_set()
    {
        string cifar = PretrainedFixtures.Cifar10Folder(_folder.File("cifar"));
        var (code, output, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--checkpoint", _weights, "--data", "cifar10",
            "--data-dir", cifar, "--device", "cpu", "--json");
        code.Should().Be(0, error);
        var root = Json(output);
        root.GetProperty("images").GetInt32().Should().Be(8);
        root.GetProperty("method").GetString().Should().Be("none");
    }
}
