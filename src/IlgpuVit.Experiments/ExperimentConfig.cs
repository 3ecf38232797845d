// The file `ilgpuvit experiment CONFIG` reads: a grid of training runs and inference-only
// measurements, as JSON (comments and trailing commas allowed). Every key but "name" is optional:
//
//   {
//     "name": "claims-fashion-mnist",            // output folder runs/<name> unless --out (default: the file's name)
//     "model": "vit_micro_patch4_28",            // a registered model (ModelRegistry)
//     "data": "fashion-mnist",                   // fashion-mnist or cifar10
//     "dataDir": null,                           // folder of the data set's files (default: the data set's own)
//     "init": "runs/base/none-s0/checkpoint.safetensors",  // fine-tune: every run starts from this checkpoint of the same
//                                                // architecture, head kept (relative to the working folder; CLI --init overrides)
//     "training": { "epochs": 6, "gas": { } },   // overrides of TrainingOptions (camelCase names), shared by every run
//     "baseline": true,                          // train the unpruned model (method none) once per seed
//     "methods": ["topk", "etps", "tome"],       // reduction methods trained (options allowed: "topk-vpa:lambda=0.5") with ...
//     "rates": [0.04, 0.08],                     // ... each manual pruning rate in [0, 1) (spec METHOD:rate=P) ...
//     "adjust": ["gas"],                         // ... and each rate adjuster ("gas", "ramp:P0..P1"; spec METHOD, the adjuster sets the rate)
//     "seeds": [0],                              // every run once per seed (TrainingOptions.Seed)
//     "trainLimit": 0, "testLimit": 0,           // use only the first N images (0: all)
//     "inference": { "methods": ["topk", "topk-vpa", "tome"], "rates": [0.04, 0.08] },  // on the trained baseline, no retraining
//     "latency": { "batch": 64, "runs": 10 }     // one fixed batch of test images, timed runs per spec
//   }
//
// Everything is checked here, before anything trains: unknown keys (at any depth, with the known
// ones listed), unknown models, data sets and methods, every spec the grid will run (parsed by
// ReductionMethod), rates outside [0, 1), repeats, an empty grid, and the training options. Every
// problem is one line that names the file and the key.

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>The inference-only part of an experiment: methods x rates applied to the trained baseline.</summary>
/// <param name="Methods">Reduction methods (names of <see cref="ReductionMethod.Names"/>, "none" excluded).</param>
/// <param name="Rates">Pruning rates in [0, 1), each applied as METHOD:rate=P.</param>
public sealed record ExperimentInference(IReadOnlyList<string> Methods, IReadOnlyList<double> Rates);

/// <summary>How latency is measured: forwards of one fixed batch of test images.</summary>
/// <param name="Batch">Images in the batch.</param>
/// <param name="Runs">Timed runs per spec (after warm-up), interleaved across the specs compared.</param>
public sealed record ExperimentLatency(int Batch = 64, int Runs = 10);

/// <summary>A parsed and checked experiment file (the keys are described at the top of this file).</summary>
/// <param name="Name">The experiment's name: its folder is runs/NAME unless told otherwise.</param>
/// <param name="Model">A registered model (ModelRegistry).</param>
/// <param name="Data">The data set, fashion-mnist or cifar10.</param>
/// <param name="DataDir">Folder of the data set's files (null: the data set's own).</param>
/// <param name="Training">The training options every run shares (seed, method and adjuster are set per run).</param>
/// <param name="Baseline">Whether the unpruned model trains once per seed.</param>
/// <param name="Methods">Reduction methods trained (bare, options allowed).</param>
/// <param name="Rates">Manual pruning rates each method trains at.</param>
/// <param name="Adjust">Rate adjusters each method trains under.</param>
/// <param name="Seeds">Every run once per seed.</param>
/// <param name="TrainLimit">Use only the first N training images (0: all).</param>
/// <param name="TestLimit">Use only the first N test images (0: all).</param>
/// <param name="Inference">Specs applied to the trained baseline without retraining.</param>
/// <param name="Latency">How latency is measured.</param>
/// <param name="Init">A trained checkpoint of the same architecture every run starts from (fine-tuning, head kept), or null to train from scratch.</param>
public sealed record ExperimentConfig(
    string Name, string Model, string Data, string? DataDir, TrainingOptions Training,
    bool Baseline, IReadOnlyList<string> Methods, IReadOnlyList<double> Rates, IReadOnlyList<string> Adjust, IReadOnlyList<int> Seeds,
    int TrainLimit, int TestLimit, ExperimentInference Inference, ExperimentLatency Latency, string? Init = null)
{
    private static readonly string[] Keys =
        ["name", "model", "data", "dataDir", "init", "training", "baseline", "methods", "rates", "adjust", "seeds", "trainLimit", "testLimit", "inference", "latency"];

    /// <summary>This experiment fine-tuning from <paramref name="checkpoint"/> (the CLI's --init).</summary>
    /// <exception cref="ArgumentException">The file is missing, not a checkpoint, or of another architecture.</exception>
    public ExperimentConfig WithInit(string checkpoint) => this with { Init = CheckInit(checkpoint, ModelRegistry.Get(Model), "--init") };

    /// <summary>Checks the "init" checkpoint, if any (the runner's first step; <see cref="Load"/> does it unless told not to).</summary>
    /// <exception cref="ArgumentException">The file is missing, not a checkpoint, or of another architecture.</exception>
    public void CheckInit()
    {
        if (Init is not null) CheckInit(Init, ModelRegistry.Get(Model), $"{Name}: init");
    }

    /// <summary>Checks that <paramref name="path"/> is a checkpoint of <paramref name="model"/>'s architecture; returns the path.</summary>
    private static string CheckInit(string path, VitConfig model, string where)
    {
        if (Directory.Exists(path)) throw new ArgumentException($"{where}: {path} is a folder; give its checkpoint file (e.g. {Path.Combine(path, "checkpoint.safetensors")}).");
        if (!File.Exists(path)) throw new ArgumentException($"{where}: checkpoint '{path}' not found.");
        VitConfig found;
        try
        {
            found = TrainingCheckpoint.ReadInfo(path).Config;
        }
        catch (Exception e) when (e is IO.SafeTensorsFormatException or IOException or ArgumentException)
        {
            throw new ArgumentException($"{where}: {path} is not an IlgpuVit checkpoint ({e.Message}).");
        }
        if (found with { Name = model.Name } != model)
            throw new ArgumentException($"{where}: {path} holds a {found.Name} ({found.ImageSize} px, patch {found.PatchSize}, width {found.EmbedDim}, depth {found.Depth}), " +
                                        $"not the experiment's {model.Name}; fine-tuning keeps the architecture and the head.");
        return path;
    }

    // The grid sets these per run; a "training" override of them would be silently overwritten.
    private static readonly Dictionary<string, string> GridOwned = new(StringComparer.OrdinalIgnoreCase)
    {
        ["seed"] = "list seeds in \"seeds\"", ["method"] = "list methods in \"methods\"", ["adjust"] = "list adjusters in \"adjust\"",
    };

    /// <summary>Reads and checks the experiment file at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="ArgumentException">The file is not valid JSON or breaks a rule (the message names the file and the key).</exception>
    /// <param name="path">The file.</param>
    /// <param name="checkInit">Also check the "init" checkpoint (exists, same architecture); false only to check a committed file whose
    /// checkpoint another experiment has yet to train (the runner checks it before anything trains).</param>
    public static ExperimentConfig Load(string path, bool checkInit = true)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Experiment file '{path}' not found.", path);
        return Parse(File.ReadAllText(path), path, Path.GetFileNameWithoutExtension(path), checkInit);
    }

    /// <summary>Parses and checks <paramref name="json"/>; errors name <paramref name="source"/>.</summary>
    /// <param name="json">The file's text.</param>
    /// <param name="source">The file's name, for messages.</param>
    /// <param name="defaultName">The experiment's name when the file gives none.</param>
    /// <param name="checkInit">Also check the "init" checkpoint (see <see cref="Load"/>).</param>
    /// <exception cref="ArgumentException">The text is not valid JSON or breaks a rule.</exception>
    public static ExperimentConfig Parse(string json, string source, string? defaultName = null, bool checkInit = true)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{source}: not valid JSON: {e.Message}");
        }
        var top = new Section(source, "", root as JsonObject ?? throw new ArgumentException($"{source}: the file must hold one JSON object {{...}}."), Keys);

        string name = top.String("name", defaultName) ?? throw top.Error("name", "is missing (the experiment's folder is runs/<name>)");
        if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name is "." or "..")
            throw top.Error("name", $"'{name}' cannot name a folder");
        string model = top.String("model", "vit_micro_patch4_28")!;
        var config = Try(top, "model", () => ModelRegistry.Get(model));
        string data = top.String("data", "fashion-mnist")!;
        var augmentation = Try(top, "data", () => DataSets.DefaultAugmentation(data));
        var training = ReadTraining(top, new TrainingOptions { CropPadding = augmentation.Padding, HorizontalFlip = augmentation.HorizontalFlip });

        var methods = ReadMethods(top, "methods");
        var rates = ReadRates(top, "rates");
        var adjust = top.Strings("adjust");
        foreach (var a in adjust)
        {
            if (a.Trim() == "none") throw top.Error("adjust", "'none' is not an adjuster; manual rates go in \"rates\"");
            Try(top, "adjust", () => RateAdjuster.Create(a, training.Gas, stepsPerEpoch: 10, totalSteps: 100, training.Gap));
        }
        Distinct(top, "adjust", adjust);
        var seeds = top.Ints("seeds", [0]);
        if (seeds.Count == 0) throw top.Error("seeds", "is empty; give at least one seed");
        Distinct(top, "seeds", seeds);
        bool baseline = top.Bool("baseline", true);
        int trainLimit = top.Int("trainLimit", 0, min: 0), testLimit = top.Int("testLimit", 0, min: 0);

        if (methods.Count > 0 && rates.Count == 0 && adjust.Count == 0)
            throw top.Error("methods", "are listed but neither \"rates\" nor \"adjust\" is: nothing says at which rate to train them");
        if (methods.Count == 0 && (rates.Count > 0 || adjust.Count > 0))
            throw top.Error(rates.Count > 0 ? "rates" : "adjust", "is given but \"methods\" is empty: no method to train with it");

        var inference = new ExperimentInference([], []);
        if (top.Object("inference", ["methods", "rates"]) is { } section)
        {
            inference = new ExperimentInference(ReadMethods(section, "methods"), ReadRates(section, "rates"));
            if (inference.Methods.Count == 0 || inference.Rates.Count == 0)
                throw section.Error(inference.Methods.Count == 0 ? "methods" : "rates", "is empty; an inference grid needs methods and rates (or leave \"inference\" out)");
            if (!baseline) throw top.Error("inference", "runs on the trained baseline, so it needs \"baseline\": true");
        }
        var latency = new ExperimentLatency();
        if (top.Object("latency", ["batch", "runs"]) is { } timing)
            latency = new ExperimentLatency(timing.Int("batch", latency.Batch, min: 1), timing.Int("runs", latency.Runs, min: 10));

        if (testLimit > 0 && latency.Batch > testLimit)
            throw top.Error("latency.batch", $"{latency.Batch} exceeds testLimit {testLimit} (the batch is cut from the test images used)");
        if (!baseline && methods.Count == 0)
            throw new ArgumentException($"{source}: the grid is empty: set \"baseline\": true or list \"methods\" with \"rates\" or \"adjust\".");
        // Every spec the grid will run parses now, not after an hour of training.
        foreach (var method in methods) Try(top, "methods", () => ReductionMethod.Parse(ExperimentPlan.ManualSpec(method, 0.1), config.Depth));
        foreach (var (key, method, rate) in methods.SelectMany(m => rates.Select(r => ("rates", m, r)))
                     .Concat(inference.Methods.SelectMany(m => inference.Rates.Select(r => ("inference.rates", m, r)))))
            Try(top, key, () => ReductionMethod.Parse(ExperimentPlan.ManualSpec(method, rate), config.Depth));
        foreach (var run in ExperimentPlan.Runs(methods, [], adjust, [0]))
            Try(top, "adjust", () => (training with { Method = run.Spec, Adjust = run.Adjust }).Validate());

        string? init = top.String("init", null);
        if (init is not null && checkInit) CheckInit(init, config, $"{source}: init");
        return new ExperimentConfig(name, model, data, top.String("dataDir", null), training, baseline, methods, rates, adjust, seeds,
            trainLimit, testLimit, inference, latency, init);
    }

    /// <summary>TrainingOptions defaults (with the data set's augmentation) overridden by the "training" object, key by key.</summary>
    private static TrainingOptions ReadTraining(Section top, TrainingOptions defaults)
    {
        var options = JsonSerializer.SerializeToNode(defaults)!.AsObject();
        if (top.Object("training", null) is { } section)
        {
            foreach (var key in section.Node.Select(p => p.Key))
                if (GridOwned.TryGetValue(key, out var where)) throw section.Error(key, $"is set per run by the grid; {where}");
            Merge(section, options, section.Node);
        }
        try
        {
            return (JsonSerializer.Deserialize<TrainingOptions>(options) ?? throw new JsonException("null")).Validate();
        }
        catch (JsonException e)
        {
            throw top.Error("training", $"has a value of the wrong type: {e.Message}");
        }
        catch (ArgumentException e)
        {
            throw top.Wrap("training", e.Message);
        }
    }

    /// <summary>Copies <paramref name="overrides"/> onto <paramref name="target"/>; keys match case-insensitively, objects merge.</summary>
    private static void Merge(Section section, JsonObject target, JsonObject overrides)
    {
        foreach (var (key, value) in overrides)
        {
            var known = target.Select(p => p.Key).ToArray();
            string? match = known.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase))
                            ?? throw section.Error(key, $"is not a training option; known: {string.Join(", ", known.Select(Camel))}");
            if (target[match] is JsonObject inner && value is JsonObject innerOverrides)
                Merge(new Section(section.Source, $"{section.Path}{Camel(match)}.", innerOverrides, null), inner, innerOverrides);
            else target[match] = value?.DeepClone();
        }
    }

    private static IReadOnlyList<string> ReadMethods(Section section, string key)
    {
        var methods = section.Strings(key);
        var known = ReductionMethod.Names.Where(n => n != "none").ToArray();
        foreach (var method in methods)
        {
            if (method.Trim() == "none") throw section.Error(key, "'none' is the unpruned baseline; set \"baseline\": true instead");
            if (!known.Contains(method.Split(':')[0].Trim())) throw section.Error(key, $"unknown method '{method}'; known: {string.Join(", ", known)}");
            if (ReductionMethod.HasRate(method))
                throw section.Error(key, $"'{method}' names a rate; list bare methods (options allowed, e.g. topk-vpa:lambda=0.5) and put rates in \"rates\"");
        }
        Distinct(section, key, methods);
        return methods;
    }

    private static IReadOnlyList<double> ReadRates(Section section, string key)
    {
        var rates = section.Doubles(key);
        foreach (var rate in rates)
            if (!(rate >= 0 && rate < 1)) throw section.Error(key, $"{rate.ToString(CultureInfo.InvariantCulture)} is not a pruning rate in [0, 1)");
        Distinct(section, key, rates);
        return rates;
    }

    private static void Distinct<T>(Section section, string key, IReadOnlyList<T> values)
    {
        var repeated = values.GroupBy(v => v).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw section.Error(key, $"lists {Convert.ToString(repeated.Key, CultureInfo.InvariantCulture)} twice");
    }

    private static T Try<T>(Section section, string key, Func<T> make)
    {
        try
        {
            return make();
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw section.Wrap(key, e.Message);
        }
    }

    private static string Camel(string name) => JsonNamingPolicy.CamelCase.ConvertName(name);

    /// <summary>One JSON object of the file, read key by key with messages that name the file and the key's path.</summary>
    private sealed class Section
    {
        public Section(string source, string path, JsonObject node, IReadOnlyList<string>? keys)
        {
            (Source, Path, Node) = (source, path, node);
            if (keys is null) return;
            foreach (var (key, _) in node)
                if (!keys.Contains(key)) throw new ArgumentException($"{source}: unknown key '{path}{key}'; known: {string.Join(", ", keys)}.");
        }

        public string Source { get; }

        public string Path { get; }

        public JsonObject Node { get; }

        public ArgumentException Error(string key, string problem) => new($"{Source}: {Path}{key} {problem.TrimEnd('.')}.");

        /// <summary>A problem reported by the library (a sentence of its own) about the value at <paramref name="key"/>.</summary>
        public ArgumentException Wrap(string key, string message) => new($"{Source}: {Path}{key}: {message}");

        public Section? Object(string key, IReadOnlyList<string>? keys) => Node[key] switch
        {
            null => null,
            JsonObject o => new Section(Source, $"{Path}{key}.", o, keys),
            _ => throw Error(key, "must be an object {...}"),
        };

        public string? String(string key, string? fallback) => Node[key] switch
        {
            null => fallback,
            JsonValue v when v.TryGetValue(out string? s) => s,
            _ => throw Error(key, "must be a string"),
        };

        public bool Bool(string key, bool fallback) => Node[key] switch
        {
            null => fallback,
            JsonValue v when v.TryGetValue(out bool b) => b,
            _ => throw Error(key, "must be true or false"),
        };

        public int Int(string key, int fallback, int min)
        {
            int value = Node[key] switch
            {
                null => fallback,
                JsonValue v when v.TryGetValue(out int i) => i,
                _ => throw Error(key, "must be a whole number"),
            };
            return value >= min ? value : throw Error(key, $"must be at least {min}, got {value}");
        }

        public IReadOnlyList<string> Strings(string key) => List(key, "strings", (JsonValue v, out string s) => v.TryGetValue(out s!), []);

        public IReadOnlyList<double> Doubles(string key) => List(key, "numbers", (JsonValue v, out double d) => v.TryGetValue(out d), []);

        public IReadOnlyList<int> Ints(string key, IReadOnlyList<int> fallback) =>
            List(key, "whole numbers", (JsonValue v, out int i) => v.TryGetValue(out i), fallback);

        private delegate bool Reader<T>(JsonValue value, out T result);

        private IReadOnlyList<T> List<T>(string key, string what, Reader<T> read, IReadOnlyList<T> fallback)
        {
            if (Node[key] is null) return fallback;
            if (Node[key] is not JsonArray items) throw Error(key, $"must be a list [...] of {what}");
            return items.Select(item => item is JsonValue v && read(v, out var value) ? value : throw Error(key, $"must hold {what} only, got {item?.ToJsonString() ?? "null"}"))
                .ToArray();
        }
    }
}
