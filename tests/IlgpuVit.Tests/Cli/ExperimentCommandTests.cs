// `ilgpuvit experiment` end to end: --plan lists the runs without training, a bad file exits 1 with
// one error line naming the file, and one real tiny grid on Fashion-MNIST (256 training and 128
// test images, 1 epoch, micro model: the baseline, eTPS at a manual rate and eTPS with GAS, and
// Top-K + VPA at inference) trains through TrainingRun, writes its results and plots, and a second
// call retrains nothing. These swap Console.Out and Console.Error, so they run beside nothing else.

using System.CommandLine;
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Cli;
using IlgpuVit.Data;
using IlgpuVit.Experiments;
using IlgpuVit.Tests.Experiments;
using IlgpuVit.Tests.Support;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public class ExperimentCommandTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static (int Code, string Output, string Error) Invoke(Command command, params string[] args) =>
        PretrainedFixtures.Invoke(command, args);

    private string File(string name, string text)
    {
        System.IO.File.WriteAllText(_folder.File(name), text);
        return _folder.File(name);
    }

    [Fact]
    public void Plan_lists_the_runs_and_trains_nothing()
    {
        var fake = new FakeTraining();
        string config = File("grid.json", """{ "methods": ["tome"], "rates": [0.05], "adjust": ["gas"], "seeds": [1, 2] }""");
        var (code, output, error) = Invoke(ExperimentCommand.Create(fake.Train), "experiment", config, "--plan", "--out", _folder.File("out"));
        code.Should().Be(0, error);
        fake.Calls.Should().BeEmpty();
        output.Should().StartWith("grid: 6 training runs of vit_micro_patch4_28 on fashion-mnist");
        foreach (var id in new[] { "none-s1", "tome-r0.05-s1", "tome-gas-s1", "none-s2", "tome-r0.05-s2", "tome-gas-s2" }) output.Should().Contain(id);
        Directory.Exists(_folder.File("out")).Should().BeFalse();
    }

    [Fact]
    public void Run_trains_only_the_named_runs_with_the_grids_settings_and_skips_a_finished_one()
    {
        var fake = new FakeTraining();
        string config = File("grid.json", """{ "methods": ["tome"], "rates": [0.05], "adjust": ["gas"], "seeds": [1, 2] }""");
        string folder = _folder.File("out");
        var (code, output, error) = Invoke(ExperimentCommand.Create(fake.Train), "experiment", config, "--run", "tome-gas-s2", "none-s1", "--out", folder);
        code.Should().Be(0, error);
        fake.Calls.Select(c => (Path.GetFileName(c.OutDir), c.Options.Method, c.Options.Adjust, c.Options.Seed))
            .Should().Equal(("none-s1", "none", "none", 1), ("tome-gas-s2", "tome", "gas", 2));       // in the grid's order
        output.Should().Contain("tome-gas-s2: test accuracy").And.Contain("none-s1: test accuracy");
        System.IO.File.Exists(Path.Combine(folder, "results.md")).Should().BeFalse("one row is no report");

        (code, output, error) = Invoke(ExperimentCommand.Create(fake.Train), "experiment", config, "--run", "none-s1", "--out", folder);
        code.Should().Be(0, error);
        fake.Calls.Should().HaveCount(2, "a finished run is not trained again");
    }

    [Fact]
    public void Run_of_an_unknown_id_names_the_known_ones_and_trains_nothing()
    {
        var fake = new FakeTraining();
        string config = File("grid.json", """{ "methods": ["tome"], "rates": [0.05], "seeds": [1] }""");
        var (code, _, error) = Invoke(ExperimentCommand.Create(fake.Train), "experiment", config, "--run", "tome-r0.5-s1", "--out", _folder.File("out"));
        code.Should().Be(1);
        error.Should().Contain("grid has no run 'tome-r0.5-s1'; its runs: none-s1, tome-r0.05-s1");
        fake.Calls.Should().BeEmpty();
    }

    [Theory]
    [InlineData("""{ "methods": ["tome"], "rates": [2] }""", "bad.json: rates 2 is not a pruning rate in [0, 1).")]
    [InlineData("""{ "methods": ["tome"], "adjust": ["gas"], "training": { "gas": { "eta": -1 } } }""", "bad.json: adjust: GAS options: eta must be positive, got -1.")]
    [InlineData("""{ "training": { "gas": { "etaa": 1 } } }""", "bad.json: training.gas.etaa is not a training option; known: eta, tolerance,*")]
    public void A_bad_file_exits_1_with_one_line(string json, string message)
    {
        var fake = new FakeTraining();
        var (code, _, error) = Invoke(ExperimentCommand.Create(fake.Train), "experiment", File("bad.json", json));
        code.Should().Be(1);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().ContainSingle().Which.Should().Match("error: *" + message);
        fake.Calls.Should().BeEmpty();
    }

    [Fact]
    public void A_missing_file_exits_1()
    {
        var (code, _, error) = Invoke(ExperimentCommand.Create(new FakeTraining().Train), "experiment", _folder.File("absent.json"));
        code.Should().Be(1);
        error.Should().Contain("absent.json' not found");
    }

    [SkippableFact]
    public void A_tiny_real_grid_trains_measures_and_reports_and_a_second_call_retrains_nothing()
    {
        Skip.IfNot(System.IO.File.Exists(Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")),
            $"Fashion-MNIST is not installed in {FashionMnist.DefaultFolder} (scripts/setup.sh installs it)");
        string config = File("tiny-real.json", """
            { "training": { "epochs": 1 }, "trainLimit": 256, "testLimit": 128,
              "methods": ["etps"], "rates": [0.1], "adjust": ["gas"],
              "inference": { "methods": ["topk-vpa"], "rates": [0.1] }, "latency": { "batch": 16, "runs": 10 } }
            """);
        string folder = _folder.File("tiny-real");
        var (code, _, error) = Invoke(ExperimentCommand.Create(), "experiment", config, "--out", folder, "--device", "cpu");
        code.Should().Be(0, error);

        foreach (var name in ExperimentReport.FileNames) System.IO.File.Exists(Path.Combine(folder, name)).Should().BeTrue(name);
        System.IO.File.Exists(Path.Combine(folder, "etps-gas-s0", ExperimentPlot.RateFile)).Should().BeTrue("GAS closes a window every step here");
        using var json = JsonDocument.Parse(System.IO.File.ReadAllText(Path.Combine(folder, "results.json")));
        var rows = json.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        rows.Select(r => (r.GetProperty("kind").GetString(), r.GetProperty("run").GetString())).Should().Equal(
            ("train", "none-s0"), ("train", "etps-r0.1-s0"), ("train", "etps-gas-s0"), ("inference", "none-s0"));
        rows[1].GetProperty("spec").GetString().Should().Be("etps:rate=0.1");
        rows[1].GetProperty("flopsChangePercent").GetDouble().Should().BeLessThan(-20, "rate 0.1 removes about 29% of the micro model's MACs");
        rows[2].GetProperty("spec").GetString().Should().StartWith("etps:rate=");
        rows[2].GetProperty("finalRate").GetDouble().Should().BeInRange(0, 0.3);
        rows[3].GetProperty("spec").GetString().Should().Be("topk-vpa:rate=0.1");
        rows.Should().OnlyContain(r => r.GetProperty("accuracy").GetDouble() > 0.05 && r.GetProperty("latencyMs").GetDouble() > 0);

        var checkpoints = Directory.GetFiles(folder, "checkpoint.safetensors", SearchOption.AllDirectories).ToDictionary(p => p, System.IO.File.GetLastWriteTimeUtc);
        checkpoints.Should().HaveCount(3);
        (code, _, error) = Invoke(ExperimentCommand.Create(), "experiment", config, "--out", folder, "--device", "cpu");
        code.Should().Be(0, error);
        checkpoints.Should().OnlyContain(c => System.IO.File.GetLastWriteTimeUtc(c.Key) == c.Value, "finished runs are skipped");
    }
}
