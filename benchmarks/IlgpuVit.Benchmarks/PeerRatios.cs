// `ratios`: IlgpuVit against the libtorch peer (benchmarks/peers/torchsharp, TorchSharp-cpu, 2
// threads) on the same work, measured alternately in one run: peer, project, peer, project, ...
// (`--rounds`, at least 2). Absolute times on a shared machine move with its load, so the figure
// that means something is the ratio project / peer (below 1: the project is faster): the median of
// the rounds' ratios, each round's two sides having run back to back. Each side times `--runs`
// passes after the same warm-up.
// Writes every round's figures, the machine and the targets of docs/benchmarks.md to JSON.

using System.Diagnostics;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Benchmarks;

/// <summary>One piece of work timed on both sides: a ViT forward at some batch, or a training step.</summary>
/// <param name="Name">How reports name it, e.g. "ViT-S/16 batch 8".</param>
/// <param name="Model">The registry model.</param>
/// <param name="Batch">Images per forward or step.</param>
/// <param name="Training">A training step (AdamW, cross-entropy) instead of an inference forward.</param>
/// <param name="Target">The ratio project / peer this work should reach at most.</param>
public sealed record PeerWork(string Name, string Model, int Batch, bool Training, double Target);

/// <summary>
/// A pruning target measured on the project alone: the latency cut of <paramref name="Method"/> on <paramref name="Model"/> at
/// <paramref name="Batch"/> against the unpruned model, both timed interleaved in one run, should be at least
/// <paramref name="Target"/> times its FLOPs cut.
/// </summary>
public sealed record CutWork(string Model, int Batch, string Method, double Target);

/// <summary>One round of a cut: the medians of its interleaved unpruned and pruned forwards.</summary>
public sealed record CutRound(double UnprunedMs, double PrunedMs);

/// <summary>
/// What a <see cref="CutWork"/> measured: its rounds, each side's median over them, MACs, and the medians of the rounds'
/// latency cuts and of their ratios to the FLOPs cut.
/// </summary>
public sealed record CutResult(CutWork Work, IReadOnlyList<CutRound> Rounds, double UnprunedMs, double PrunedMs, double UnprunedMacs,
    double PrunedMacs, double LatencyCut, double FlopsCut, double CutRatio, bool MeetsTarget);

/// <summary>
/// A real training run's throughput against the train-step benchmark's, alternating in rounds: the loop (data loading,
/// augmentation, logging, the per-epoch evaluation and checkpoint) should keep at least <see cref="Target"/> of it.
/// The step is measured before the first round and after every round; a round's peer is the mean of the two around it.
/// </summary>
public sealed record LoopResult(IReadOnlyList<double> LoopImagesPerSecond, IReadOnlyList<double> StepImagesPerSecond, double Ratio,
    double Target, bool MeetsTarget);

/// <summary>One round of one work: each side's median milliseconds.</summary>
public sealed record PeerRound(double ProjectMs, double PeerMs);

/// <summary>A work's rounds, each side's median over them, and the median of the rounds' ratios.</summary>
public sealed record PeerRatio(PeerWork Work, IReadOnlyList<PeerRound> Rounds, double ProjectMs, double PeerMs, double Ratio, bool MeetsTarget,
    long ProjectParameters, long PeerParameters);

public static class PeerRatios
{
    /// <summary>The work of the CPU targets (docs/benchmarks.md).</summary>
    public static readonly PeerWork[] Works =
    [
        new("ViT-Ti/16 batch 1", "vit_tiny_patch16_224", 1, false, 0.9),
        new("ViT-Ti/16 batch 8", "vit_tiny_patch16_224", 8, false, 0.8),
        new("ViT-S/16 batch 1", "vit_small_patch16_224", 1, false, 0.9),
        new("ViT-S/16 batch 8", "vit_small_patch16_224", 8, false, 0.8),
        new("Hybrid ViT-S batch 8", "vit_small_r26_s32_224", 8, false, 1.0),
        new("train step micro batch 128", "vit_micro_patch4_28", 128, true, 0.8),
    ];

    /// <summary>The small-model reduction targets (docs/benchmarks.md): latency cut at least 0.7x the FLOPs cut.</summary>
    public static readonly CutWork[] Cuts =
    [
        new("vit_micro_patch4_28", 64, "topk:rate=0.1", 0.7),
        new("vit_micro_patch4_28", 64, "tome:r=4", 0.7),
    ];

    public static int Run(string? jsonPath, int rounds, int runs, string? only)
    {
        if (rounds < 2) { Console.Error.WriteLine("ratios: --rounds must be at least 2 (the sides alternate)."); return 2; }
        var works = only is null ? Works : Works.Where(w => only.Split(',').Any(o => w.Name.Contains(o.Trim(), StringComparison.OrdinalIgnoreCase))).ToArray();
        if (works.Length == 0 && !(only?.Split(',').Any(o => o.Trim() is "cut" or "cuts" or "loop") ?? false)) { Console.Error.WriteLine($"ratios: --only '{only}' names none of: {string.Join("; ", Works.Select(w => w.Name))}."); return 2; }
        using var device = Device.Open("cpu");
        string machine = Machine();
        Console.WriteLine($"IlgpuVit on {device.Info.Spec} ({Device.CpuWorkers} workers) against libtorch, 2 threads, on {machine}; {rounds} rounds of {runs} runs, alternating");
        var results = new List<PeerRatio>();
        foreach (var work in works)
        {
            var roundsDone = new List<PeerRound>();
            long ours = 0, theirs = 0;
            for (int r = 0; r < rounds; r++)
            {
                var peer = RunPeer(work, runs);
                theirs = peer.Parameters;
                (double projectMs, ours) = RunProject(device, work, runs);
                roundsDone.Add(new PeerRound(projectMs, peer.MedianMs));
                Console.WriteLine($"  {work.Name,-28} round {r + 1}: IlgpuVit {projectMs,8:F1} ms   libtorch {peer.MedianMs,8:F1} ms   ratio {projectMs / peer.MedianMs:F2}");
            }
            double project = Median(roundsDone.Select(x => x.ProjectMs)), libtorch = Median(roundsDone.Select(x => x.PeerMs));
            double ratio = Median(roundsDone.Select(x => x.ProjectMs / x.PeerMs));   // each round's sides ran back to back
            var result = new PeerRatio(work, roundsDone, project, libtorch, ratio, ratio <= work.Target, ours, theirs);
            results.Add(result);
            Console.WriteLine($"{work.Name,-30} ratio {result.Ratio:F2} (target at most {work.Target:F2}: {(result.MeetsTarget ? "met" : "not met")})" +
                (ours != theirs ? $"   parameters differ: {ours:N0} against {theirs:N0}" : ""));
        }
        var cuts = only is null || only.Contains("cut", StringComparison.OrdinalIgnoreCase) ? MeasureCuts(device, rounds, runs) : [];
        var loop = only is null || only.Contains("loop", StringComparison.OrdinalIgnoreCase) ? MeasureLoop(device, rounds) : null;
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { machine, device = device.Info.Spec, workers = Device.CpuWorkers, rounds, runs, date = DateTime.UtcNow, results, cuts, loop },
                new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        return 0;
    }

    /// <summary>
    /// Each pruning target in rounds, as the libtorch works: a round times the unpruned and pruned forwards interleaved
    /// (Metrics.Latency), and the cut ratio is the median of the rounds' ratios. A 15 ms forward is cheap beside the
    /// libtorch works, so the cuts take at least 5 rounds of 20 forwards a side: one run of 30 forwards had put ToMe's
    /// cut anywhere in 0.70-0.75 (docs/benchmarks.md).
    /// </summary>
    private static List<CutResult> MeasureCuts(Device device, int rounds, int runs)
    {
        var results = new List<CutResult>();
        rounds = Math.Max(rounds, 5);
        runs = Math.Max(runs, 20);
        foreach (var work in Cuts)
        {
            var config = ModelRegistry.Get(work.Model);
            using var model = new VisionTransformer(config, device, seed: 0);
            var random = new Random(1);
            var pixels = new float[work.Batch * config.InChannels * config.ImageSize * config.ImageSize];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
            using var images = Tensor<float>.FromArray(device, pixels, work.Batch, config.InChannels, config.ImageSize, config.ImageSize);
            var cutRounds = new List<CutRound>();
            double unprunedMacs = 0, prunedMacs = 0;
            for (int round = 0; round < rounds; round++)
            {
                var r = Latency.Compare(model, images, ["none", work.Method], runs, warmup: 3);
                cutRounds.Add(new CutRound(r[0].MedianMs, r[1].MedianMs));
                (unprunedMacs, prunedMacs) = (r[0].MacsPerImage, r[1].MacsPerImage);
            }
            double flopsCut = 1 - prunedMacs / unprunedMacs;
            double latencyCut = Median(cutRounds.Select(c => 1 - c.PrunedMs / c.UnprunedMs));
            var result = new CutResult(work, cutRounds, Median(cutRounds.Select(c => c.UnprunedMs)), Median(cutRounds.Select(c => c.PrunedMs)),
                unprunedMacs, prunedMacs, latencyCut, flopsCut, latencyCut / flopsCut, latencyCut >= work.Target * flopsCut);
            results.Add(result);
            Console.WriteLine($"{work.Model} batch {work.Batch} {work.Method,-14} latency {result.UnprunedMs:F1} -> {result.PrunedMs:F1} ms " +
                $"({-latencyCut:P1}), FLOPs {-flopsCut:P1}: cut ratio {result.CutRatio:F2} (rounds {string.Join(", ", cutRounds.Select(c => $"{(1 - c.PrunedMs / c.UnprunedMs) / flopsCut:F2}"))}; " +
                $"target at least {work.Target:F2}: {(result.MeetsTarget ? "met" : "not met")})");
        }
        return results;
    }

    /// <summary>
    /// Images per second of `train` in its second epoch on 12,800 Fashion-MNIST images with 2,133 test images (the full
    /// set's 6:1 ratio, so the evaluation weighs as in a real run): from the first epoch's evaluation to the second's, which
    /// holds one checkpoint, one epoch of steps with their data loading and logging, and one evaluation, as every epoch of a
    /// long run does (the first epoch also compiles the kernels). Against the train-step benchmark's images per second on
    /// the same model and batch, measured before and after every round, for <paramref name="rounds"/> rounds: a round's
    /// peer is the mean of the two measurements around it (the host's speed drifts over a round's half minute), and the
    /// ratio is the median of the rounds' ratios, as for the libtorch works (each round's loop against its own peer).
    /// </summary>
    private static LoopResult? MeasureLoop(Device device, int rounds)
    {
        if (!File.Exists(Path.Combine(FashionMnist.DefaultFolder, "train-images-idx3-ubyte.gz")))
        {
            Console.WriteLine($"loop: Fashion-MNIST is not in {FashionMnist.DefaultFolder} (bash scripts/setup.sh installs it); skipped.");
            return null;
        }
        var loops = new List<double>();
        var steps = new List<double>();
        var peers = new List<double>();
        double StepImagesPerSecond() => 128 / TrainStep(device, ModelRegistry.Get("vit_micro_patch4_28"), 128, 20).Item1 * 1e3;
        string folder = Path.Combine(Path.GetTempPath(), $"ilgpuvit-loop-{Environment.ProcessId}");
        try
        {
            steps.Add(StepImagesPerSecond());
            for (int r = 0; r < rounds; r++)
            {
                var summary = TrainingRun.Execute(new RunSettings("vit_micro_patch4_28", "fashion-mnist", null, new TrainingOptions { Epochs = 2 }, folder,
                    TrainLimit: 12_800, TestLimit: 2_133, Device: "cpu", Overwrite: true));
                var evals = File.ReadLines(summary.Metrics).Select(l => JsonDocument.Parse(l).RootElement)
                    .Where(e => e.GetProperty("event").GetString() == "eval").Select(e => e.GetProperty("seconds").GetDouble()).ToArray();
                loops.Add(summary.Steps / 2 * 128 / (evals[1] - evals[0]));
                steps.Add(StepImagesPerSecond());
                peers.Add((steps[^2] + steps[^1]) / 2);
                Console.WriteLine($"  train loop round {r + 1}: {loops[^1],6:F0} images/s; train step {steps[^2],6:F0} before, {steps[^1],6:F0} after; ratio {loops[^1] / peers[^1]:F2}");
            }
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        double ratio = Median(loops.Select((loop, r) => loop / peers[r]));
        Console.WriteLine($"train loop / train step images/s {ratio:F2} (target at least 0.90: {(ratio >= 0.9 ? "met" : "not met")})");
        return new LoopResult(loops, steps, ratio, 0.9, ratio >= 0.9);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }

    /// <summary>The project's median over <paramref name="runs"/> passes, after the peer's warm-up count.</summary>
    private static (double MedianMs, long Parameters) RunProject(Device device, PeerWork work, int runs)
    {
        var config = ModelRegistry.Get(work.Model);
        return work.Training ? TrainStep(device, config, work.Batch, runs) : Inference(device, config, work.Batch, runs);
    }

    private static (double, long) Inference(Device device, VitConfig config, int batch, int runs)
    {
        using var model = new VisionTransformer(config, device, seed: 0);
        var random = new Random(1);
        var pixels = new float[batch * config.InChannels * config.ImageSize * config.ImageSize];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
        using var images = Tensor<float>.FromArray(device, pixels, batch, config.InChannels, config.ImageSize, config.ImageSize);
        return (Latency.Compare(model, images, ["none"], runs, warmup: 3)[0].MedianMs, model.ParameterCount);
    }

    private static (double, long) TrainStep(Device device, VitConfig config, int batch, int runs)
    {
        using var model = new VisionTransformer(config, device, seed: 0);
        using var trainer = TrainStepBenchmark.Trainer(model, batch, batches: 1);
        var step = trainer.Loader.Epoch(0).First().Clone();
        var timing = Measure.Time(() => trainer.Step(step, 0), warmup: 5, minRuns: runs, budgetSeconds: 0);
        return (timing.MedianSeconds * 1e3, model.ParameterCount);
    }

    private sealed record PeerResult(double MedianMs, long Parameters);

    /// <summary>Runs the peer on the same shape (benchmarks/peers/torchsharp/run.sh, from the repository root).</summary>
    private static PeerResult RunPeer(PeerWork work, int runs)
    {
        var c = ModelRegistry.Get(work.Model);
        var script = Path.Combine("benchmarks", "peers", "torchsharp", "run.sh");
        if (!File.Exists(script)) throw new FileNotFoundException($"ratios: the peer {script} is not here; run from the repository root.", script);
        var info = new ProcessStartInfo("bash", [script, work.Training ? "train" : "vit", "--image", $"{c.ImageSize}", "--patch", $"{c.PatchSize}",
            "--channels", $"{c.InChannels}", "--dim", $"{c.EmbedDim}", "--depth", $"{c.Depth}", "--heads", $"{c.Heads}", "--mlp", $"{c.MlpDim}",
            "--classes", $"{c.Classes}", "--batch", $"{work.Batch}", "--runs", $"{runs}", "--warmup", work.Training ? "5" : "3",
            .. c.Backbone.Length > 0 ? new[] { "--backbone", c.Backbone } : []])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"ratios: the peer failed (exit {process.ExitCode}): {error.Result.Trim()}");
        var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Last();
        var json = JsonDocument.Parse(line).RootElement;
        return new PeerResult(json.GetProperty("medianMs").GetDouble(), json.GetProperty("parameters").GetInt64());
    }

    private static string Machine()
    {
        var model = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        return $"{model ?? "unknown CPU"}, {Environment.ProcessorCount} cores";
    }
}
