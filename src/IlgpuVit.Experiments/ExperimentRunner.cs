// Runs an experiment into its folder, resumably: each run of the plan trains in <folder>/<run id>
// (TrainingRun.Execute) unless its summary.json (the RunSummary, the run's last file) is there; a
// run with a checkpoint but no summary.json resumes from that checkpoint. Checkpoints are found in the run's folder
// (not at the path a summary recorded), so an experiment folder may be moved. Then every run's checkpoint is timed
// under its final method against the unpruned model (<run>/latency.json), and the baseline of each
// seed is evaluated and timed under every inference spec (<baseline>/inference.json). Measurements
// on disk are reused, so running a finished experiment again only rebuilds the reports. The
// settings every run shares (model, data set, training options, limits, the checkpoint fine-tuned from;
// not the data folder, which may move) are pinned in settings.json:
// a folder's runs are never mixed with runs of other settings, while the grid itself may grow.

using System.Text.Json;
using System.Text.Json.Nodes;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>Trains, measures and reports an experiment (what `ilgpuvit experiment` runs).</summary>
/// <param name="config">The checked experiment file.</param>
/// <param name="folder">The experiment's folder (created if missing).</param>
/// <param name="deviceSpec">Accelerator for training and measurements: auto, cpu, cuda[:N] or opencl[:N].</param>
/// <param name="train">Trains one run (TrainingRun.Execute; tests pass a fake).</param>
/// <param name="log">Progress lines (one per run and measurement).</param>
public sealed class ExperimentRunner(ExperimentConfig config, string folder, string deviceSpec, Func<RunSettings, RunSummary> train, TextWriter log)
{
    /// <summary>File names inside each run's folder.</summary>
    public const string SummaryFile = "summary.json", CheckpointFile = "checkpoint.safetensors", LatencyFile = "latency.json", InferenceFile = "inference.json";

    /// <summary>The settings file in the experiment's folder.</summary>
    public const string SettingsFile = "settings.json";

    /// <summary>Runs trained or resumed by <see cref="Run"/> (finished runs skipped do not count).</summary>
    public int Trained { get; private set; }

    /// <summary>Checkpoints measured by <see cref="Run"/> (measurements found on disk do not count).</summary>
    public int Measured { get; private set; }

    /// <summary>Trains what is missing, measures what is missing, and returns every row.</summary>
    /// <exception cref="ArgumentException">The folder holds runs of other settings.</exception>
    public ExperimentReport Run()
    {
        var summaries = Train(ExperimentPlan.Runs(config).Select(r => r.Id).ToArray());

        using var bench = new ExperimentBench(config, deviceSpec);
        var rows = new List<ExperimentRow>();
        var baseMacs = Flops.Macs(ModelRegistry.Get(config.Model));
        foreach (var (run, summary) in summaries)
        {
            var baseline = summaries.FirstOrDefault(s => s.Run.Method == "none" && s.Run.Seed == run.Seed).Summary;
            var timing = TimeOne(bench, run, summary);
            rows.Add(ExperimentRow.Trained(run, summary, timing, baseMacs, baseline?.TestAccuracy));
        }
        var points = ExperimentPlan.Inference(config);
        if (points.Count > 0)
            foreach (var (run, summary) in summaries.Where(s => s.Run.Method == "none"))
                foreach (var (point, result) in InferOne(bench, run, points))
                    rows.Add(ExperimentRow.Inferred(run, point, result, baseMacs, summary.TestAccuracy));
        return new ExperimentReport(config, rows.FirstOrDefault()?.Device ?? deviceSpec, rows);
    }

    /// <summary>
    /// Trains (or resumes) only the runs named <paramref name="ids"/>, as <see cref="Run"/> would train them, and returns their
    /// summaries; no timing and no report (those need the whole grid). A finished run is not trained again.
    /// </summary>
    /// <exception cref="ArgumentException">An id is not one of the experiment's runs, or the folder holds runs of other settings.</exception>
    public IReadOnlyList<(ExperimentRun Run, RunSummary Summary)> Train(IReadOnlyList<string> ids)
    {
        var runs = ExperimentPlan.Runs(config);
        var unknown = ids.Where(id => runs.All(r => r.Id != id)).ToArray();
        if (unknown.Length > 0)
            throw new ArgumentException($"{config.Name} has no run {string.Join(", ", unknown.Select(id => $"'{id}'"))}; its runs: " +
                                        $"{string.Join(", ", runs.Select(r => r.Id))} (--plan lists them).");
        config.CheckInit();
        Directory.CreateDirectory(folder);
        PinSettings();
        var chosen = runs.Where(r => ids.Contains(r.Id)).ToArray();
        return chosen.Select((run, i) => (run, TrainOne(run, $"[{i + 1}/{chosen.Length}]"))).ToArray();
    }

    private RunSummary TrainOne(ExperimentRun run, string counter)
    {
        string dir = Path.Combine(folder, run.Id);
        string summaryPath = Path.Combine(dir, SummaryFile);
        if (File.Exists(summaryPath))
        {
            log.WriteLine($"{counter} {run.Id}: finished earlier, skipped");
            return Read<RunSummary>(summaryPath);
        }
        string checkpoint = Path.Combine(dir, CheckpointFile);
        bool resume = File.Exists(checkpoint);
        log.WriteLine($"{counter} {run.Id}: {(resume ? "resuming from its checkpoint" : "training")} ({run.Spec}{(run.Adjusted ? $", adjust {run.Adjust}" : "")}, seed {run.Seed})");
        var settings = new RunSettings(config.Model, config.Data, config.DataDir, Options(run), dir, config.TrainLimit, config.TestLimit,
            resume ? checkpoint : null, deviceSpec, Init: resume ? null : config.Init,    // a resumed run's checkpoint records its init
            Overwrite: !resume);     // a folder without a checkpoint holds only a crashed start
        RunSummary summary;
        try
        {
            summary = train(settings);
        }
        catch (TrainingDivergedException e)
        {
            throw new ArgumentException($"{run.Id} ({run.Spec}{(run.Adjusted ? $", adjust {run.Adjust}" : "")}): {e.Message}", e);
        }
        Write(summaryPath, summary);        // the runner writes it too; this copy is the one the harness reads, whatever trained
        foreach (var stale in new[] { LatencyFile, InferenceFile }) File.Delete(Path.Combine(dir, stale));     // measured on a checkpoint now replaced
        Trained++;
        log.WriteLine($"{counter} {run.Id}: accuracy {summary.TestAccuracy:P2}, {summary.MacsPerImage / 1e9:G4} GMACs per image, final {summary.Method}, " +
                      $"{summary.TrainSeconds:F0} s");
        return summary;
    }

    /// <summary>The shared training options with the run's seed, method and adjuster.</summary>
    private TrainingOptions Options(ExperimentRun run) => config.Training with { Seed = run.Seed, Method = run.Spec, Adjust = run.Adjust };

    private ExperimentTiming TimeOne(ExperimentBench bench, ExperimentRun run, RunSummary summary)
    {
        string path = Path.Combine(folder, run.Id, LatencyFile);
        if (File.Exists(path) && Read<ExperimentTiming>(path) is var cached && Current(cached) && cached.Spec == summary.Method) return cached;
        log.WriteLine($"{run.Id}: timing {summary.Method} against none (batch {config.Latency.Batch}, {config.Latency.Runs} runs)");
        var timing = bench.Time(Path.Combine(folder, run.Id, CheckpointFile), [summary.Method])[0];
        Write(path, timing);
        Measured++;
        return timing;
    }

    private IEnumerable<(ExperimentInferencePoint Point, ExperimentInferenceResult Result)> InferOne(ExperimentBench bench, ExperimentRun baseline,
        IReadOnlyList<ExperimentInferencePoint> points)
    {
        string path = Path.Combine(folder, baseline.Id, InferenceFile);
        var results = File.Exists(path) ? Read<ExperimentInferenceResult[]>(path).Where(r => Current(r.Timing) && r.Correct is not null).ToList() : [];
        var missing = points.Select(p => p.Spec).Where(spec => results.All(r => r.Spec != spec)).ToArray();
        if (missing.Length > 0)
        {
            log.WriteLine($"{baseline.Id}: evaluating and timing {missing.Length} inference specs on the trained baseline");
            results.AddRange(bench.Infer(Path.Combine(folder, baseline.Id, CheckpointFile), missing));
            Write(path, results);
            Measured++;
        }
        return points.Select(p => (p, results.First(r => r.Spec == p.Spec)));
    }

    /// <summary>Whether a stored timing was taken with the file's latency settings.</summary>
    private bool Current(ExperimentTiming timing) => timing.Batch == config.Latency.Batch && timing.Runs == config.Latency.Runs;

    /// <summary>Writes settings.json on the first run; later runs must match it.</summary>
    private void PinSettings()
    {
        var settings = JsonSerializer.SerializeToNode(new
        {
            config.Model, config.Data, config.TrainLimit, config.TestLimit, config.Training,
            Init = config.Init is null ? null : Path.GetFullPath(config.Init),
        }, ReportJson.Options)!;
        string path = Path.Combine(folder, SettingsFile);
        if (File.Exists(path))
        {
            var pinned = JsonNode.Parse(File.ReadAllText(path));
            if (FirstDifference(pinned, settings, "") is { } key)
                throw new ArgumentException($"{folder} holds runs trained with other settings ({key} differs from {path}); " +
                                            "use another --out, or restore the file's settings.");
        }
        else AtomicFile.WriteText(path, settings.ToJsonString(ReportJson.Options));
    }

    /// <summary>The path of the first value that differs between two JSON trees, or null when they are equal.</summary>
    private static string? FirstDifference(JsonNode? a, JsonNode? b, string path)
    {
        if (a is JsonObject x && b is JsonObject y)
            return x.Select(p => p.Key).Union(y.Select(p => p.Key))
                .Select(key => FirstDifference(x[key], y[key], path.Length == 0 ? key : $"{path}.{key}")).FirstOrDefault(d => d is not null);
        return JsonNode.DeepEquals(a, b) ? null : path;
    }

    private static T Read<T>(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(File.ReadAllText(path), ReportJson.Options) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{path} is malformed ({e.Message}); delete it to redo that step.");
        }
    }

    // Through a temporary file and a rename, so an interrupted experiment never leaves half a file.
    private static void Write<T>(string path, T value) => AtomicFile.WriteText(path, JsonSerializer.Serialize(value, ReportJson.Options));
}
