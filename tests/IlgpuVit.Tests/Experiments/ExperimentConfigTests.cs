// The experiment file: a full example parses (comments, trailing commas, training overrides merged
// over the defaults), the grid expands into the runs and ids the harness promises, the ready
// configs in configs/ parse, and every kind of bad file fails with one line naming the file and key.

using FluentAssertions;
using IlgpuVit.Experiments;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Experiments;

public class ExperimentConfigTests
{
    private const string Example = """
        {
          "name": "claims",                  // comments and trailing commas are fine
          "model": "vit_micro_patch4_28",
          "data": "fashion-mnist",
          "training": { "epochs": 6, "LearningRate": 0.001, },
          "baseline": true,
          "methods": ["topk", "topk-vpa", "etps", "tome"],
          "rates": [0.04, 0.08],
          "adjust": ["gas"],
          "seeds": [0, 7],
          "trainLimit": 256, "testLimit": 128,
          "inference": { "methods": ["topk", "topk-vpa", "tome"], "rates": [0.02, 0.04, 0.06, 0.08, 0.1, 0.12] },
          "latency": { "batch": 31, "runs": 12 },
        }
        """;

    private static ExperimentConfig Parse(string json) => ExperimentConfig.Parse(json, "x.json", "from-file");

    [Fact]
    public void A_full_file_parses_with_its_overrides_merged_over_the_defaults()
    {
        var config = Parse(Example);
        config.Name.Should().Be("claims");
        config.Methods.Should().Equal("topk", "topk-vpa", "etps", "tome");
        config.Rates.Should().Equal(0.04, 0.08);
        config.Adjust.Should().Equal("gas");
        config.Seeds.Should().Equal(0, 7);
        (config.TrainLimit, config.TestLimit).Should().Be((256, 128));
        config.Inference.Rates.Should().HaveCount(6);
        config.Latency.Should().Be(new ExperimentLatency(31, 12));
        var defaults = new TrainingOptions();
        config.Training.Should().Be(defaults with { Epochs = 6, LearningRate = 0.001f }, "keys match case-insensitively and the rest keep their defaults");
    }

    [Fact]
    public void Missing_keys_take_their_defaults_and_the_name_defaults_to_the_file()
    {
        var config = Parse("""{ "methods": ["tome"], "adjust": ["gas"] }""");
        config.Name.Should().Be("from-file");
        (config.Model, config.Data, config.DataDir).Should().Be(("vit_micro_patch4_28", "fashion-mnist", null));
        config.Baseline.Should().BeTrue();
        config.Seeds.Should().Equal(0);
        config.Rates.Should().BeEmpty();
        config.Inference.Methods.Should().BeEmpty();
        config.Latency.Should().Be(new ExperimentLatency(64, 10));
        config.Training.Should().Be(new TrainingOptions());
    }

    [Fact]
    public void The_data_sets_augmentation_is_the_default_and_an_override_wins()
    {
        Parse("""{ "data": "cifar10" }""").Training.CropPadding.Should().Be(4);
        Parse("""{ "data": "cifar10", "training": { "cropPadding": 1 } }""").Training.CropPadding.Should().Be(1);
    }

    [Fact]
    public void The_grid_is_the_baseline_then_each_method_at_each_rate_then_each_method_adjusted_seed_by_seed()
    {
        var runs = ExperimentPlan.Runs(Parse(Example));
        runs.Should().HaveCount(2 * (1 + 4 * 2 + 4));
        runs.Take(13).Select(r => r.Id).Should().Equal(
            "none-s0", "topk-r0.04-s0", "topk-r0.08-s0", "topk-vpa-r0.04-s0", "topk-vpa-r0.08-s0", "etps-r0.04-s0", "etps-r0.08-s0",
            "tome-r0.04-s0", "tome-r0.08-s0", "topk-gas-s0", "topk-vpa-gas-s0", "etps-gas-s0", "tome-gas-s0");
        runs.Skip(13).Should().OnlyContain(r => r.Seed == 7 && r.Id.EndsWith("-s7"));
        runs.Select(r => r.Id).Should().OnlyHaveUniqueItems();

        var baseline = runs[0];
        (baseline.Spec, baseline.Adjusted, baseline.RateLabel).Should().Be(("none", false, "0"));
        var manual = runs.Single(r => r.Id == "etps-r0.08-s7");
        (manual.Spec, manual.Adjust, manual.RateLabel).Should().Be(("etps:rate=0.08", "none", "0.08"));
        var adjusted = runs.Single(r => r.Id == "tome-gas-s0");
        (adjusted.Spec, adjusted.Adjust, adjusted.Rate, adjusted.RateLabel).Should().Be(("tome", "gas", (double?)null, "gas"));

        ExperimentPlan.Inference(Parse(Example)).Select(p => p.Spec).Should().HaveCount(18).And.StartWith("topk:rate=0.02").And.EndWith("tome:rate=0.12");
    }

    [Fact]
    public void Methods_with_options_and_schedules_get_readable_ids_and_their_options_in_the_spec()
    {
        var runs = ExperimentPlan.Runs(Parse("""{ "baseline": false, "methods": ["topk-vpa:lambda=0.5"], "rates": [0.08], "adjust": ["ramp:0..0.1"] }"""));
        runs.Select(r => (r.Id, r.Spec, r.Adjust)).Should().Equal(
            ("topk-vpa-lambda=0.5-r0.08-s0", "topk-vpa:rate=0.08,lambda=0.5", "none"),
            ("topk-vpa-lambda=0.5-ramp-0to0.1-s0", "topk-vpa:lambda=0.5", "ramp:0..0.1"));
    }

    [Fact]
    public void Only_a_baseline_is_a_grid_of_one_run_per_seed()
    {
        ExperimentPlan.Runs(Parse("""{ "seeds": [1, 31, 197] }""")).Select(r => r.Id).Should().Equal("none-s1", "none-s31", "none-s197");
    }

    [Fact]
    public void The_ready_configs_parse()
    {
        var folder = Path.Combine(RepositoryRoot(), "configs");
        var files = Directory.GetFiles(folder, "*.json");
        files.Should().Contain(f => Path.GetFileName(f) == "claims-fashion-mnist.json");
        foreach (var file in files)
        {
            var config = ExperimentConfig.Load(file, checkInit: false);     // fine-tuning grids start from a checkpoint another config trains
            config.Name.Should().Be(Path.GetFileNameWithoutExtension(file), "the folder runs/<name> matches the file");
            ExperimentPlan.Runs(config).Should().NotBeEmpty();
        }
        var claims = ExperimentConfig.Load(Path.Combine(folder, "claims-fashion-mnist.json"));
        (claims.Model, claims.Data, claims.Baseline).Should().Be(("vit_micro_patch4_28", "fashion-mnist", true));
        claims.Adjust.Should().Equal("gas");
        claims.Inference.Methods.Should().Contain(["topk", "topk-vpa", "tome"], "claims 2 and 3 compare them on the trained baseline");
    }

    [Theory]
    [InlineData("{", "x.json: not valid JSON*")]
    [InlineData("[1]", "x.json: the file must hold one JSON object*")]
    [InlineData("""{ "name": "a", "metods": ["topk"] }""", "x.json: unknown key 'metods'; known: name, model,*")]
    [InlineData("""{ "name": "a/b" }""", "x.json: name 'a/b' cannot name a folder.")]
    [InlineData("""{ "name": 3 }""", "x.json: name must be a string.")]
    [InlineData("""{ "model": "vit_huge" }""", "x.json: model: Unknown model 'vit_huge'. Known models: *")]
    [InlineData("""{ "data": "mnist" }""", "x.json: data: Unknown data set 'mnist'*")]
    [InlineData("""{ "methods": ["topk", "nope"], "rates": [0.1] }""", "x.json: methods unknown method 'nope'; known: topk, topk-vpa, evit, etps, tome.")]
    [InlineData("""{ "methods": ["none"], "rates": [0.1] }""", "x.json: methods 'none' is the unpruned baseline*")]
    [InlineData("""{ "methods": ["topk", "topk"], "rates": [0.1] }""", "x.json: methods lists topk twice.")]
    [InlineData("""{ "methods": ["topk"], "rates": [0.1, 1] }""", "x.json: rates 1 is not a pruning rate in [0, 1).")]
    [InlineData("""{ "methods": ["topk"], "rates": [-0.02] }""", "x.json: rates -0.02 is not a pruning rate in [0, 1).")]
    [InlineData("""{ "methods": ["topk"], "rates": [0.1, 0.1] }""", "x.json: rates lists 0.1 twice.")]
    [InlineData("""{ "methods": ["topk"], "rates": ["0.1"] }""", "x.json: rates must hold numbers only, got \"0.1\".")]
    [InlineData("""{ "methods": "topk", "rates": [0.1] }""", "x.json: methods must be a list [...] of strings.")]
    [InlineData("""{ "methods": ["topk"], "adjust": ["manual"] }""", "x.json: adjust: Unknown rate adjuster 'manual'. Valid: none, gas, gap (the pruning-gap controller), or ramp:P0..P1*")]
    [InlineData("""{ "methods": ["topk"], "adjust": ["none"] }""", "x.json: adjust 'none' is not an adjuster; manual rates go in \"rates\".")]
    [InlineData("""{ "methods": ["topk"], "adjust": ["ramp:0..1.5"] }""", "x.json: adjust: Bad rate schedule 'ramp:0..1.5'*")]
    [InlineData("""{ "methods": ["topk:rate=0.1"], "rates": [0.2] }""", "x.json: methods 'topk:rate=0.1' names a rate; list bare methods*")]
    [InlineData("""{ "methods": ["topk-vpa:lambda=x"], "rates": [0.2] }""", "x.json: methods: Bad reduction method 'topk-vpa:rate=0.1,lambda=x'*")]
    [InlineData("""{ "methods": ["topk:lambda=1"], "adjust": ["gas"] }""", "x.json: methods: Bad reduction method 'topk:rate=0.1,lambda=1': topk takes no option lambda*")]
    [InlineData("""{ "methods": ["topk"] }""", "x.json: methods are listed but neither \"rates\" nor \"adjust\" is*")]
    [InlineData("""{ "rates": [0.1] }""", "x.json: rates is given but \"methods\" is empty*")]
    [InlineData("""{ "baseline": false }""", "x.json: the grid is empty*")]
    [InlineData("""{ "baseline": false, "methods": [], "adjust": [] }""", "x.json: the grid is empty*")]
    [InlineData("""{ "seeds": [] }""", "x.json: seeds is empty; give at least one seed.")]
    [InlineData("""{ "seeds": [0.5] }""", "x.json: seeds must hold whole numbers only, got 0.5.")]
    [InlineData("""{ "trainLimit": -1 }""", "x.json: trainLimit must be at least 0, got -1.")]
    [InlineData("""{ "baseline": "yes" }""", "x.json: baseline must be true or false.")]
    [InlineData("""{ "training": { "epoch": 3 } }""", "x.json: training.epoch is not a training option; known: epochs, batchSize,*")]
    [InlineData("""{ "training": { "seed": 3 } }""", "x.json: training.seed is set per run by the grid; list seeds in \"seeds\".")]
    [InlineData("""{ "training": { "epochs": 0 } }""", "x.json: training: Training options: epochs must be at least 1, got 0.")]
    [InlineData("""{ "training": { "epochs": "six" } }""", "x.json: training has a value of the wrong type:*")]
    [InlineData("""{ "training": [] }""", "x.json: training must be an object {...}.")]
    [InlineData("""{ "inference": { "methods": ["topk"] } }""", "x.json: inference.rates is empty; an inference grid needs methods and rates*")]
    [InlineData("""{ "inference": { "methods": ["topk"], "rate": [0.1] } }""", "x.json: unknown key 'inference.rate'; known: methods, rates.")]
    [InlineData("""{ "inference": { "methods": ["tome"], "rates": [1.5] } }""", "x.json: inference.rates 1.5 is not a pruning rate in [0, 1).")]
    [InlineData("""{ "baseline": false, "methods": ["tome"], "adjust": ["gas"], "inference": { "methods": ["tome"], "rates": [0.1] } }""",
        "x.json: inference runs on the trained baseline, so it needs \"baseline\": true.")]
    [InlineData("""{ "latency": { "batch": 0 } }""", "x.json: latency.batch must be at least 1, got 0.")]
    [InlineData("""{ "latency": { "runs": 9 } }""", "x.json: latency.runs must be at least 10, got 9.")]
    [InlineData("""{ "testLimit": 33, "latency": { "batch": 64 } }""", "x.json: latency.batch 64 exceeds testLimit 33 (the batch is cut from the test images used).")]
    public void Bad_files_fail_with_one_line_naming_the_file_and_the_key(string json, string message)
    {
        var act = () => ExperimentConfig.Parse(json, "x.json", "t");
        act.Should().Throw<ArgumentException>().WithMessage(message).Which.Message.Should().NotContain("\n");
    }

    [Fact]
    public void A_missing_file_names_itself()
    {
        var act = () => ExperimentConfig.Load("/nonexistent/grid.json");
        act.Should().Throw<FileNotFoundException>().WithMessage("*'/nonexistent/grid.json' not found*");
    }

    /// <summary>The checkout holding this test build (the folder with IlgpuVit.sln).</summary>
    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "IlgpuVit.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no IlgpuVit.sln above {AppContext.BaseDirectory}");
    }
}
