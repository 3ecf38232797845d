// `train --init`: a run starts from pretrained weights (generated, timm names, a head of another class
// count): its first step's loss is exactly that of a model loaded by WeightImporter with a new head and
// trained by a Trainer, and differs from a run from scratch; the import is logged; --init with --resume
// is refused; the CLI prints the import report and trains with a reduction method. Data: generated CIFAR-10
// files (PretrainedFixtures), 16 training images, 2 steps.
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Cli;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Tests.Cli;
using IlgpuVit.Tests.Data;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Training;

[Collection(nameof(SwapsConsole))]
public class TrainingRunInitTests : IDisposable
{
    private static readonly TrainingOptions Options = new()
    {
        Epochs = 1, BatchSize = 8, WarmupEpochs = 0, Seed = 5, CropPadding = 0, HorizontalFlip = false,
    };

    private readonly TempFolder _folder = new();
    private readonly string _weights, _cifar;

    public TrainingRunInitTests()
    {
        _weights = PretrainedFixtures.Weights(_folder.File("pretrained.safetensors"), classes: 7, seed: 11);
        _cifar = PretrainedFixtures.Cifar10Folder(_folder.File("cifar"));
    }

    public void Dispose() => _folder.Dispose();

    private RunSettings Settings(string name, string? init) =>
        new(PretrainedFixtures.Arch, "cifar10", _cifar, Options, _folder.File(name), TrainLimit: 16, TestLimit: 8, Device: "cpu", Init: init);

    private static List<JsonElement> Events(string metrics, string kind) => File.ReadLines(metrics).Select(l => JsonDocument.Parse(l).RootElement)
        .Where(e => e.GetProperty("event").GetString() == kind).ToList();

    private float ReferenceFirstLoss()
    {
        using var device = Device.Open("cpu");
        var config = ModelRegistry.Get(PretrainedFixtures.Arch);
        using var model = new VisionTransformer(config, device, Options.Seed);
        using var fresh = new VisionTransformer(config, device, Options.Seed);
        var report = WeightImporter.Import(_weights, model, new WeightImportOptions { AllowNewHead = true });
        report.Skipped.Select(k => k.FileKey).Should().BeEquivalentTo("head.weight", "head.bias");
        float[] Values(VisionTransformer m, string name) => m.Parameters().Single(p => p.Name == name).Value.ToArray();
        Values(model, "head.weight").Should().Equal(Values(fresh, "head.weight"), "the head is new: as initialised");
        using (var file = SafeTensorsFile.Open(_weights))
        {
            var qkv = new float[file.Tensors["blocks.3.attn.qkv.weight"].ElementCount];
            file.ReadSingles("blocks.3.attn.qkv.weight", qkv);
            Values(model, "blocks.3.attn.qkv.weight").Should().Equal(qkv, "the body comes from the file");
        }
        var train = Cifar10.Load(_cifar, train: true).Take(16);
        using var trainer = new Trainer(model, train, Options, Cifar10.Normalization);
        return trainer.RunEpoch().First().Loss;
    }

    [Fact]
    public void A_run_from_pretrained_weights_starts_where_a_model_loaded_by_the_importer_starts()
    {
        var summary = TrainingRun.Execute(Settings("init", _weights));
        var steps = Events(summary.Metrics, "step");
        steps.Should().HaveCount(2);
        float first = steps[0].GetProperty("loss").GetSingle();
        first.Should().Be(ReferenceFirstLoss());

        var init = Events(summary.Metrics, "init").Should().ContainSingle().Subject;
        init.GetProperty("loaded").GetInt32().Should().Be(78, "every parameter but the head's two");
        init.GetProperty("notes")[0].GetString().Should().StartWith("New head");

        var scratch = TrainingRun.Execute(Settings("scratch", init: null));
        Events(scratch.Metrics, "step")[0].GetProperty("loss").GetSingle().Should().NotBe(first);
        Events(scratch.Metrics, "init").Should().BeEmpty();
    }

    [Fact]
    public void Init_and_resume_are_exclusive_and_weights_of_another_width_fail()
    {
        FluentActions.Invoking(() => TrainingRun.Execute(Settings("both", _weights) with { Resume = _weights }))
            .Should().Throw<ArgumentException>().WithMessage("--init and --resume are exclusive*");
        FluentActions.Invoking(() => TrainingRun.Execute(Settings("wide", _weights) with { Model = "vit_mini_patch4_32" }))
            .Should().Throw<WeightImportException>().WithMessage("*do not fit model 'vit_mini_patch4_32'*");
    }

    [Fact]
    public void The_cli_prints_the_import_report_and_trains_with_a_reduction_method()
    {
        var (code, output, error) = PretrainedFixtures.Invoke(TrainCommand.Create(), "train", "--model", PretrainedFixtures.Arch, "--data", "cifar10",
            "--data-dir", _cifar, "--init", _weights, "--method", "topk:rate=0.1", "--epochs", "1", "--batch-size", "8", "--train-limit", "16",
            "--test-limit", "8", "--out", _folder.File("cli"), "--device", "cpu", "--json");
        code.Should().Be(0, error);
        error.Should().Contain("78 parameters loaded").And.Contain("New head");
        var summary = JsonDocument.Parse(output).RootElement;
        summary.GetProperty("method").GetString().Should().Be("topk:rate=0.1");
        summary.GetProperty("steps").GetInt32().Should().Be(2);
    }
}
