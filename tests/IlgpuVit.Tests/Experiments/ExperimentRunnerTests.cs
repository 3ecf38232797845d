// The experiment runner with a fake trainer (FakeTraining: a real checkpoint of a freshly
// initialised micro model, a summary whose numbers follow from the run) on a synthetic
// Fashion-MNIST folder (40 training and 33 test images), so the grid, resume and report logic run
// in seconds and need no data set installed: every run is trained once and with the settings the
// plan says, every file is written with one row per run and per inference point, the rows' changes
// follow from the baseline, a second call trains and measures nothing, an interrupted run resumes
// from its checkpoint, a grown grid trains only what it adds, and other settings are refused.

using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Experiments;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Tests.Data;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Experiments;

/// <summary>Stands in for TrainingRun.Execute.</summary>
internal sealed class FakeTraining
{
    /// <summary>The final rate every adjusted run reports.</summary>
    public const double AdjustedRate = 0.15;

    /// <summary>The baseline's accuracy; a reducing run loses its final rate from it.</summary>
    public const double BaselineAccuracy = 0.8;

    /// <summary>Every call, in order.</summary>
    public List<RunSettings> Calls { get; } = [];

    public RunSummary Train(RunSettings settings)
    {
        Calls.Add(settings);
        var options = settings.Options;
        var config = ModelRegistry.Get(settings.Model);
        Directory.CreateDirectory(settings.OutDir);
        string checkpoint = Path.Combine(settings.OutDir, "checkpoint.safetensors"), metrics = Path.Combine(settings.OutDir, "metrics.jsonl");
        using (var model = new VisionTransformer(config, Backends.Cpu, options.Seed)) TrainingCheckpoint.Save(checkpoint, model, null, options);

        bool adjusted = options.Adjust != "none";
        double rate = adjusted ? AdjustedRate : options.Method == "none" ? 0 : double.Parse(options.Method.Split("rate=")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
        if (adjusted) File.WriteAllLines(metrics, ExperimentRunnerTests.AdjustedLog);
        double macs = rate == 0 ? Flops.Macs(config) : Flops.Macs(config, ReductionRate.Parse($"rate={rate}"));
        return new RunSummary(settings.Model, settings.Data, adjusted ? ReductionMethod.WithRate(options.Method, rate) : options.Method, adjusted ? rate : 0,
            BaselineAccuracy - rate, 0.5 + rate, macs, 10, 2.5, checkpoint, metrics);
    }
}

/// <summary>A synthetic Fashion-MNIST folder (28 x 28 grey, labels 0..9) shared by the tests of this file.</summary>
public sealed class SyntheticFashionMnist : IDisposable
{
    private readonly TempFolder _folder = new();

    public SyntheticFashionMnist()
    {
        foreach (var (prefix, count) in new[] { ("train", 40), ("t10k", 33) })
        {
            DataFiles.Write(_folder.File($"{prefix}-images-idx3-ubyte"), DataFiles.IdxImages(count, 28, 28, DataFiles.Bytes(count, count * 28 * 28)));
            DataFiles.Write(_folder.File($"{prefix}-labels-idx1-ubyte"), DataFiles.IdxLabels(Enumerable.Range(0, count).Select(i => (byte)(i % 10)).ToArray()));
        }
    }

    public string Path => _folder.Path;

    public void Dispose() => _folder.Dispose();
}

public class ExperimentRunnerTests(SyntheticFashionMnist data) : IClassFixture<SyntheticFashionMnist>, IDisposable
{
    /// <summary>A GAS log as TrainingRun writes it: steps, windows (step 20 twice, as after a resume), an eval, and a torn last line.</summary>
    internal static readonly string[] AdjustedLog =
    [
        """{"event":"start","model":"vit_micro_patch4_28"}""",
        """{"event":"step","step":1,"loss":2.3}""",
        """{"event":"window","step":10,"epoch":0,"window":1,"rate":0,"loss":2.2,"gradNorm":1.5,"scale":1}""",
        """{"event":"window","step":20,"epoch":0,"window":2,"rate":0.9,"loss":9,"gradNorm":1.2,"scale":1.25}""",
        """{"event":"window","step":20,"epoch":0,"window":2,"rate":0.05,"loss":1.8,"gradNorm":1.2,"scale":1.25,"signal":-0.18}""",
        """{"event":"eval","epoch":1,"accuracy":0.5}""",
        """{"event":"window","step":30,"epoch":1,"window":3,"rate":0.15,"loss":1.6,"gradNorm":0.9,"scale":1.6,"signal":-0.11}""",
        """{"event":"window","step":4""",
    ];

    private readonly TempFolder _out = new();

    private string Config(string grid, int epochs = 1) =>
        $$"""{ "name": "tiny", "dataDir": {{JsonSerializer.Serialize(data.Path)}}, "training": { "epochs": {{epochs}} }, "latency": { "batch": 7, "runs": 10 }, {{grid}} }""";

    private const string Grid = """
        "methods": ["topk", "tome"], "rates": [0.1, 0.3], "adjust": ["gas"],
        "inference": { "methods": ["topk", "topk-vpa"], "rates": [0.1, 0.2] }
        """;

    private static readonly string[] Ids = ["none-s0", "topk-r0.1-s0", "topk-r0.3-s0", "tome-r0.1-s0", "tome-r0.3-s0", "topk-gas-s0", "tome-gas-s0"];

    private (ExperimentRunner Runner, FakeTraining Fake, ExperimentReport Report) Run(string json)
    {
        var fake = new FakeTraining();
        var runner = new ExperimentRunner(ExperimentConfig.Parse(json, "tiny.json"), _out.Path, "cpu", fake.Train, TextWriter.Null);
        var report = runner.Run();
        report.Write(_out.Path);
        return (runner, fake, report);
    }

    public void Dispose() => _out.Dispose();

    [Fact]
    public void A_grid_trains_every_run_once_with_its_settings_and_writes_every_file()
    {
        var (runner, fake, report) = Run(Config(Grid));

        runner.Trained.Should().Be(7);
        runner.Measured.Should().Be(7 + 1, "each run timed, and the baseline's inference grid in one go");
        fake.Calls.Select(c => Path.GetFileName(c.OutDir)).Should().Equal(Ids);
        fake.Calls.Select(c => (c.Options.Method, c.Options.Adjust)).Should().Equal(
            ("none", "none"), ("topk:rate=0.1", "none"), ("topk:rate=0.3", "none"), ("tome:rate=0.1", "none"), ("tome:rate=0.3", "none"),
            ("topk", "gas"), ("tome", "gas"));
        fake.Calls.Should().OnlyContain(c => c.Resume == null && c.Device == "cpu" && c.DataDir == data.Path && c.Options.Epochs == 1 && c.Options.Seed == 0);

        foreach (var name in ExperimentReport.FileNames.Append(ExperimentRunner.SettingsFile)) File.Exists(_out.File(name)).Should().BeTrue(name);
        foreach (var png in new[] { ExperimentPlot.FlopsFile, ExperimentPlot.LatencyFile, ExperimentPlot.TrajectoriesFile, Path.Combine("topk-gas-s0", ExperimentPlot.RateFile) })
            File.ReadAllBytes(_out.File(png)).Take(4).Should().Equal([0x89, 0x50, 0x4E, 0x47], png);
        foreach (var id in Ids)
        {
            File.Exists(_out.File(Path.Combine(id, ExperimentRunner.LatencyFile))).Should().BeTrue(id);
            File.Exists(_out.File(Path.Combine(id, ExperimentPlot.RateFile))).Should().Be(id.Contains("gas"), id);
        }
        File.Exists(_out.File(Path.Combine("none-s0", ExperimentRunner.InferenceFile))).Should().BeTrue();

        var csv = File.ReadAllLines(_out.File("results.csv"));
        csv.Should().HaveCount(1 + 7 + 4);
        csv.Skip(1).Select(l => l.Split(',')[0]).Should().Equal(Enumerable.Repeat("train", 7).Concat(Enumerable.Repeat("inference", 4)));
        csv.Skip(1).Select(l => l.Split(',')[3]).Should().Equal("0", "0.1", "0.3", "0.1", "0.3", "gas", "gas", "0.1", "0.2", "0.1", "0.2");

        var tables = File.ReadAllText(_out.File("results.md")).Split("\n## ");
        tables.Should().HaveCount(6);
        // Each gas run's log (AdjustedLog): 3 windows, the rate up twice after the first, signals -0.18 and -0.11 (the first has none).
        tables[4].Should().StartWith("the adjusters' signals").And.Contain("| 3 | 2 / 1 / 0 | -0.1450 | -0.1450 | 0.15 |");
        tables[4].Split('\n').Count(l => l.StartsWith('|')).Should().Be(2 + 2);
        tables[5].Should().StartWith("the paper's claims").And.Contain("topk + gas (seed 0)").And.Contain("topk-vpa ahead of topk at")
            .And.Contain("paired bootstrap over test images: rate 0.1: ");
        // One line per configuration: 7 trained, 4 inference (one seed: means without intervals).
        tables[3].Should().StartWith("means over seeds");
        tables[3].Split('\n').Count(l => l.StartsWith('|')).Should().Be(2 + 7 + 4);
        tables[1].Split('\n').Count(l => l.StartsWith('|')).Should().Be(2 + 7);
        tables[2].Should().StartWith("inference only").And.Contain("topk-vpa");
        tables[2].Split('\n').Count(l => l.StartsWith('|')).Should().Be(2 + 4);

        using var json = JsonDocument.Parse(File.ReadAllText(_out.File("results.json")));
        json.RootElement.GetProperty("rows").GetArrayLength().Should().Be(11);
        json.RootElement.GetProperty("training").GetProperty("epochs").GetInt32().Should().Be(1);
        report.Rows.Should().HaveCount(11);
    }

    [Fact]
    public void Rows_take_their_changes_from_the_baseline_and_the_timings_on_disk()
    {
        var (_, _, report) = Run(Config(Grid));
        var config = ModelRegistry.Get("vit_micro_patch4_28");
        var baseline = report.Rows[0];
        (baseline.Run, baseline.Spec, baseline.FinalRate).Should().Be(("none-s0", "none", 0.0));
        baseline.FlopsChangePercent.Should().Be(0);
        baseline.AccuracyChangePoints.Should().Be(0);
        baseline.LatencyChangePercent.Should().Be(0, "the unpruned model is its own baseline");

        foreach (var row in report.Rows.Where(r => r.Kind == "train").Skip(1))
        {
            row.AccuracyChangePoints!.Value.Should().BeApproximately(100 * (row.Accuracy - FakeTraining.BaselineAccuracy), 1e-9);
            row.FlopsChangePercent.Should().BeApproximately(100 * (row.GmacsPerImage * 1e9 / Flops.Macs(config) - 1), 1e-9);
            row.FlopsChangePercent.Should().BeNegative(row.Run);
            var timing = JsonSerializer.Deserialize<ExperimentTiming>(File.ReadAllText(_out.File(Path.Combine(row.Run, ExperimentRunner.LatencyFile))),
                ReportJson.Options)!;
            (timing.Spec, timing.Batch, timing.Runs).Should().Be((row.Spec, 7, 10));
            timing.P10Ms.Should().BeLessThanOrEqualTo(timing.MedianMs);
            row.LatencyChangePercent.Should().BeApproximately(100 * (timing.MedianMs / timing.BaselineMs - 1), 1e-9);
        }
        var adjusted = report.Rows.Single(r => r.Run == "tome-gas-s0");
        (adjusted.Spec, adjusted.Rate, adjusted.Adjust, adjusted.FinalRate).Should().Be(("tome:rate=0.15", "gas", "gas", FakeTraining.AdjustedRate));
        report.Rows.Single(r => r.Run == "topk-r0.3-s0").FinalRate.Should().Be(0.3);

        var inferred = report.Rows.Where(r => r.Kind == "inference").ToArray();
        inferred.Select(r => r.Spec).Should().Equal("topk:rate=0.1", "topk:rate=0.2", "topk-vpa:rate=0.1", "topk-vpa:rate=0.2");
        inferred.Should().OnlyContain(r => r.Run == "none-s0" && r.TrainSeconds == null && r.Accuracy >= 0 && r.Accuracy <= 1);
        foreach (var row in inferred)
            row.AccuracyChangePoints!.Value.Should().BeApproximately(100 * (row.Accuracy - FakeTraining.BaselineAccuracy), 1e-9);
        // Top-K adds no products of its own: its GMACs are the blocks' at that rate, counted from what ran.
        (inferred[1].GmacsPerImage * 1e9).Should().BeApproximately(Flops.Macs(config, ReductionRate.Parse("rate=0.2")), 1e-3);
        inferred[2].GmacsPerImage.Should().BeGreaterThanOrEqualTo(inferred[0].GmacsPerImage, "VPA's host search only adds");
    }

    [Fact]
    public void A_second_call_trains_and_measures_nothing_and_rebuilds_the_same_rows()
    {
        var first = Run(Config(Grid)).Report;
        File.Delete(_out.File("results.md"));
        var (runner, fake, report) = Run(Config(Grid));
        fake.Calls.Should().BeEmpty();
        (runner.Trained, runner.Measured).Should().Be((0, 0));
        report.Rows.Should().Equal(first.Rows);
        File.Exists(_out.File("results.md")).Should().BeTrue();
    }

    [Fact]
    public void An_interrupted_run_resumes_from_its_checkpoint_and_a_lost_one_starts_again()
    {
        const string grid = """ "methods": ["etps"], "rates": [0.3] """;
        Run(Config(grid));
        File.Delete(_out.File(Path.Combine("etps-r0.3-s0", ExperimentRunner.SummaryFile)));      // killed after a checkpoint
        Directory.Delete(_out.File("none-s0"), recursive: true);                                   // killed before its first

        var (runner, fake, report) = Run(Config(grid));
        fake.Calls.Select(c => (Path.GetFileName(c.OutDir), c.Resume)).Should().Equal(
            ("none-s0", null), ("etps-r0.3-s0", _out.File(Path.Combine("etps-r0.3-s0", "checkpoint.safetensors"))));
        runner.Measured.Should().Be(2, "a retrained run's old timing is dropped with its checkpoint");
        report.Rows.Should().HaveCount(2);
    }

    [Fact]
    public void A_grown_grid_trains_only_what_it_adds_and_other_settings_are_refused()
    {
        Run(Config(""" "methods": ["topk"], "rates": [0.3] """));
        var (_, fake, report) = Run(Config(""" "methods": ["topk"], "rates": [0.3, 0.1], "seeds": [0] """));
        fake.Calls.Select(c => Path.GetFileName(c.OutDir)).Should().Equal("topk-r0.1-s0");
        report.Rows.Select(r => r.Run).Should().Equal("none-s0", "topk-r0.3-s0", "topk-r0.1-s0");

        var act = () => Run(Config(""" "methods": ["topk"], "rates": [0.3] """, epochs: 2));
        act.Should().Throw<ArgumentException>().WithMessage("*holds runs trained with other settings (training.epochs differs from*");
    }

    [Fact]
    public void Windows_keep_the_last_line_of_each_step_and_skip_a_torn_line()
    {
        File.WriteAllLines(_out.File("metrics.jsonl"), AdjustedLog);
        ExperimentPlot.Windows(_out.File("metrics.jsonl")).Should().Equal(
            new ExperimentPlot.Window(10, 0, 2.2), new ExperimentPlot.Window(20, 0.05, 1.8, -0.18), new ExperimentPlot.Window(30, 0.15, 1.6, -0.11));
        ExperimentPlot.Windows(_out.File("absent.jsonl")).Should().BeEmpty();
    }
}
