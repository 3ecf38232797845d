// One training run from start (or a checkpoint) to its summary, shared by `ilgpuvit train`, the
// experiment harness and library users: loads the data, builds the model, applies the reduction
// method, trains with the rate adjuster (if any) re-applying the method at each window's rate,
// evaluates on the test split after every epoch at the current rate, and writes to the run folder
// metrics.jsonl (a line per step, per adjuster window and per evaluation), checkpoint.safetensors
// after every epoch (weights, optimizer, options, the method at its current rate and the adjuster's
// state: a resumed run continues the same trajectory) and summary.json.

using System.Diagnostics;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;

namespace IlgpuVit.Training;

/// <summary>What a training run needs.</summary>
/// <param name="Model">A ModelRegistry name.</param>
/// <param name="Data">A data set name (DataSets).</param>
/// <param name="DataDir">Its folder (null: the default).</param>
/// <param name="Options">Hyper-parameters, reduction method and adjuster.</param>
/// <param name="OutDir">The run folder.</param>
/// <param name="TrainLimit">Use only the first N training images (0: all).</param>
/// <param name="TestLimit">Evaluate on only the first N test images (0: all).</param>
/// <param name="Resume">A checkpoint to continue (its settings win).</param>
/// <param name="Device">A Device.Open spec.</param>
/// <param name="Init">Pretrained weights (timm or torchvision layout) to start from, with a new head where the class count
/// differs (WeightImporter with AllowNewHead; pos_embed resampled for another image size); null: random initialisation.</param>
public sealed record RunSettings(string Model, string Data, string? DataDir, TrainingOptions Options, string OutDir,
    int TrainLimit = 0, int TestLimit = 0, string? Resume = null, string Device = "auto", string? Init = null);

/// <summary>What a finished run reports (also its summary.json).</summary>
/// <param name="Model">The model's name.</param>
/// <param name="Data">The data set.</param>
/// <param name="Method">The reduction at the end, with its final rate ("none" for none).</param>
/// <param name="FinalRate">The adjuster's final pruning rate (0 without an adjuster).</param>
/// <param name="TestAccuracy">Top-1 test accuracy at the end, with the final reduction.</param>
/// <param name="TestLoss">Mean test cross-entropy.</param>
/// <param name="MacsPerImage">Inference MACs per image with the final reduction.</param>
/// <param name="Steps">Optimizer steps done.</param>
/// <param name="TrainSeconds">Wall time of this process's share of the run.</param>
/// <param name="Checkpoint">The checkpoint written.</param>
/// <param name="Metrics">The metrics log.</param>
public sealed record RunSummary(string Model, string Data, string Method, double FinalRate, double TestAccuracy, double TestLoss,
    double MacsPerImage, int Steps, double TrainSeconds, string Checkpoint, string Metrics);

/// <summary>Watches a run (the CLI's progress display); every member may do nothing.</summary>
public interface ITrainingObserver
{
    /// <summary>Runs <paramref name="body"/>, the whole training, handing it a per-step report: step, images/s, pruning rate.</summary>
    void Run(Trainer trainer, Action<Action<StepResult, double, double>> body);

    /// <summary>An epoch ended with <paramref name="result"/> on the test split.</summary>
    void Epoch(Trainer trainer, int epoch, EvaluationResult result);

    /// <summary>The run started from pretrained weights (<see cref="RunSettings.Init"/>) and imported them as <paramref name="report"/> says.</summary>
    void Imported(ImportReport report) { }
}

/// <summary>Runs training runs.</summary>
public static class TrainingRun
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { NonFiniteAsNullConverter.Instance } };

    /// <summary>Trains as <paramref name="settings"/> say and returns the summary (also written to summary.json).</summary>
    /// <example><code>var s = TrainingRun.Execute(new RunSettings("vit_micro_patch4_28", "fashion-mnist", null,
    ///     new TrainingOptions { Epochs = 2, Method = "etps", Adjust = "gas" }, "runs/etps-gas"));</code></example>
    /// <exception cref="ArgumentException">A setting is invalid (names which).</exception>
    /// <exception cref="FormatException">The method or adjuster spec is malformed.</exception>
    /// <exception cref="WeightImportException">The <see cref="RunSettings.Init"/> weights do not fit the model (apart from its head).</exception>
    public static RunSummary Execute(RunSettings settings, ITrainingObserver? observer = null)
    {
        var config = ModelRegistry.Get(settings.Model);
        var options = settings.Options;
        CheckpointInfo? resumed = null;
        if (settings.Resume is not null && settings.Init is not null)
            throw new ArgumentException("--init and --resume are exclusive: a resumed run continues from its checkpoint's weights.");
        if (settings.Resume is not null)
        {
            resumed = Checkpoint.ReadInfo(settings.Resume);
            config = resumed.Config;
            options = resumed.Options ?? throw new ArgumentException($"{settings.Resume} holds weights only (no training state): it cannot be resumed.");
        }
        options.Validate();
        // A malformed method fails here, before any data loads (an adjusted method is checked at a sample rate).
        ReductionMethod.Parse(options.Adjust.Trim() == "none" ? options.Method : ReductionMethod.WithRate(options.Method, 0.1), config.Depth);
        var (train, normalization) = DataSets.Load(settings.Data, settings.DataDir, train: true);
        var (test, _) = DataSets.Load(settings.Data, settings.DataDir, train: false);
        if (settings.TrainLimit > 0) train = train.Take(Math.Min(settings.TrainLimit, train.Count));
        if (settings.TestLimit > 0) test = test.Take(Math.Min(settings.TestLimit, test.Count));

        // Fine-tuning replaces the pretrained head with one sized for the data's classes (the paper's CIFAR-10 runs).
        if (settings.Init is not null) config = config with { Classes = train.Classes };
        using var device = Runtime.Device.Open(settings.Device);
        using var model = new VisionTransformer(config, device, options.Seed);
        // Before the trainer exists: its optimizer state starts from the imported weights.
        var imported = settings.Init is null ? null : WeightImporter.Import(settings.Init, model, new WeightImportOptions { AllowNewHead = true });
        if (imported is not null) observer?.Imported(imported);
        using var trainer = new Trainer(model, train, options, normalization);
        var adjuster = RateAdjuster.Create(options.Adjust, options.Gas, trainer.Loader.BatchesPerEpoch, trainer.TotalSteps);
        if (resumed is not null)
        {
            Checkpoint.Load(settings.Resume!, model, trainer.Optimizer);
            if (adjuster is not null && resumed.AdjusterState is not null) adjuster.RestoreState(resumed.AdjusterState);
        }
        string Spec() => adjuster is null ? options.Method : ReductionMethod.WithRate(options.Method, adjuster.Rate);
        ReductionMethod.Apply(model, Spec());

        Directory.CreateDirectory(settings.OutDir);
        string checkpointPath = Path.Combine(settings.OutDir, "checkpoint.safetensors");
        using var log = new MetricsLog(Path.Combine(settings.OutDir, "metrics.jsonl"));
        log.Write(new { @event = "start", model = config.Name, parameters = model.ParameterCount, data = settings.Data, trainImages = train.Count,
            testImages = test.Count, device = device.Info.Spec, resumedFromStep = resumed?.Step ?? 0, method = Spec(), options });
        if (imported is not null)
            log.Write(new { @event = "init", weights = settings.Init, loaded = imported.Loaded.Count, skipped = imported.Skipped.Select(k => k.FileKey),
                converted = imported.Converted.Count, notes = imported.Notes });

        var clock = Stopwatch.StartNew();
        EvaluationResult last = default;
        int images = 0;
        void Body(Action<StepResult, double, double> report)
        {
            while (!trainer.Finished)
            {
                foreach (var s in trainer.RunEpoch())
                {
                    images += s.Images;
                    double rate = adjuster?.Rate ?? 0;
                    log.Write(new { @event = "step", s.Step, s.Epoch, s.Batch, s.Loss, s.GradNorm, lr = s.LearningRate, rate, seconds = clock.Elapsed.TotalSeconds });
                    if (adjuster?.Observe(s.Loss, s.GradNorm) is { } w)
                    {
                        log.Write(new { @event = "window", step = s.Step, s.Epoch, w.Window, w.Rate, w.Loss, w.GradNorm, w.Scale });
                        ReductionMethod.Apply(model, Spec());
                    }
                    report(s, images / clock.Elapsed.TotalSeconds, adjuster?.Rate ?? 0);
                }
                Checkpoint.Save(checkpointPath, model, trainer.Optimizer, options, Spec(), adjuster?.SaveState());
                last = Evaluation.Evaluate(model, test, normalization);
                log.Write(new { @event = "eval", epoch = trainer.Epoch, step = trainer.Optimizer.StepCount, accuracy = last.Accuracy, loss = last.Loss,
                    gmacsPerImage = last.MacsPerImage / 1e9, method = Spec(), seconds = clock.Elapsed.TotalSeconds });
                observer?.Epoch(trainer, trainer.Epoch, last);
            }
        }
        if (observer is null) Body((_, _, _) => { });
        else observer.Run(trainer, Body);
        if (last.Images == 0) last = Evaluation.Evaluate(model, test, normalization);     // resumed a finished run: report it

        var summary = new RunSummary(config.Name, settings.Data, Spec(), adjuster?.Rate ?? 0, last.Accuracy, last.Loss, last.MacsPerImage,
            trainer.Optimizer.StepCount, clock.Elapsed.TotalSeconds, checkpointPath, log.Path);
        File.WriteAllText(Path.Combine(settings.OutDir, "summary.json"), JsonSerializer.Serialize(summary, Indented));
        return summary;
    }
}
