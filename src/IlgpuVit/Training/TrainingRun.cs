// One training run from start (or a checkpoint) to its summary, shared by `ilgpuvit train`, the
// experiment harness and library users: loads the data, builds the model, applies the reduction
// method, trains with the rate adjuster (if any) setting the method's rate at each window,
// evaluates on the test split after every epoch at the current rate, and writes to the run folder
// metrics.jsonl (a line per step, per adjuster window and per evaluation), checkpoint.safetensors
// after every epoch, every N steps if asked and on an interrupt (weights, optimizer, options, the
// method at its current rate, the adjuster's state and the data settings: a resumed run continues
// the same trajectory) and summary.json. How runs own their folders, resume and stop: docs/runs.md.
// Data-parallel (docs/distributed.md): every member of a communicator calls Execute with the same settings
// (checked at start); rank 0 alone owns the folder and writes the log, checkpoints, evaluations and the
// summary; parameters and optimizer state go from rank 0 to all at start; the rate adjuster's windows and
// a stop request are decided together. A member that throws aborts the group, so the others stop too.

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
/// <param name="OutDir">The run folder, owned by this run while it trains (IO.RunFolder).</param>
/// <param name="TrainLimit">Use only the first N training images (0: all).</param>
/// <param name="TestLimit">Evaluate on only the first N test images (0: all).</param>
/// <param name="Resume">A checkpoint to continue: its model, options, data set, folder and limits win over the ones given here.</param>
/// <param name="Device">A Device.Open spec.</param>
/// <param name="Init">Pretrained weights (timm or torchvision layout) to start from, with a new head where the class count
/// differs (WeightImporter with AllowNewHead; pos_embed resampled for another image size); null: random initialisation.</param>
/// <param name="CheckpointEvery">Also write the checkpoint every N steps (0: only after each epoch and on an interrupt).</param>
/// <param name="Overwrite">Replace a run the folder already holds (otherwise that is refused).</param>
/// <param name="AllowNonFinite">Load weights holding NaN or infinity (warned) instead of refusing them.</param>
public sealed record RunSettings(string Model, string Data, string? DataDir, TrainingOptions Options, string OutDir,
    int TrainLimit = 0, int TestLimit = 0, string? Resume = null, string Device = "auto", string? Init = null,
    int CheckpointEvery = 0, bool Overwrite = false, bool AllowNonFinite = false)
{
    /// <summary>Checks the values that are not training options.</summary>
    /// <exception cref="ArgumentException">A value is out of range or two settings exclude each other (names which).</exception>
    public RunSettings Validate()
    {
        if (Resume is not null && Init is not null)
            throw new ArgumentException("--init and --resume are exclusive: a resumed run continues from its checkpoint's weights.");
        void Require(bool ok, string what) { if (!ok) throw new ArgumentException($"Run settings: {what}."); }
        Require(TrainLimit >= 0, $"the training-image limit must be at least 1 (0: all), got {TrainLimit}");
        Require(TestLimit >= 0, $"the test-image limit must be at least 1 (0: all), got {TestLimit}");
        Require(CheckpointEvery >= 0, $"checkpoint-every must be at least 1 step (0: per epoch only), got {CheckpointEvery}");
        Require(!string.IsNullOrWhiteSpace(OutDir), "the run folder is empty");
        return this;
    }
}

/// <summary>What a checkpoint records of its run beside the model and the options: the data it trains and evaluates on.</summary>
internal sealed record RunDefinition(string Data, string? DataDir, int TrainLimit, int TestLimit, string? Init);

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
    double MacsPerImage, int Steps, double TrainSeconds, string Checkpoint, string Metrics)
{
    /// <summary>Data-parallel members that trained the run (1: a single process).</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>Seconds rank 0 spent averaging gradients across the members.</summary>
    public double CommunicationSeconds { get; init; }
}

/// <summary>Watches a run (the CLI's progress display); every member may do nothing.</summary>
public interface ITrainingObserver
{
    /// <summary>Runs <paramref name="body"/>, the whole training, handing it a per-step report: step, images/s, pruning rate.</summary>
    void Run(Trainer trainer, Action<Action<StepResult, double, double>> body);

    /// <summary>An epoch ended with <paramref name="result"/> on the test split.</summary>
    void Epoch(Trainer trainer, int epoch, EvaluationResult result);

    /// <summary>The run started from pretrained weights (<see cref="RunSettings.Init"/>) and imported them as <paramref name="report"/> says.</summary>
    void Imported(ImportReport report) { }

    /// <summary>Something the user should know that is not an error (a stale lock taken over, temporary files removed).</summary>
    void Note(string message) { }
}

/// <summary>Runs training runs.</summary>
public static class TrainingRun
{
    /// <summary>
    /// The settings a run continued from <paramref name="checkpoint"/> trains with: the checkpoint's model, options, data set,
    /// folder and limits, writing beside the checkpoint. Device and the other settings that do not change the run keep their defaults.
    /// </summary>
    /// <param name="checkpoint">A checkpoint written by a training run.</param>
    /// <param name="recorded">False for a checkpoint written before the data settings were recorded: the data fields are then
    /// fashion-mnist, all images, and the caller must supply them.</param>
    /// <exception cref="ArgumentException">The file holds weights only, no training state.</exception>
    /// <exception cref="IO.SafeTensorsFormatException">The file is not an IlgpuVit checkpoint.</exception>
    public static RunSettings ResumeSettings(string checkpoint, out bool recorded)
    {
        var (settings, _, hasRun) = ReadResume(checkpoint);
        recorded = hasRun;
        return settings;
    }

    /// <summary><see cref="ResumeSettings"/> with the checkpoint's metadata, read once.</summary>
    private static (RunSettings Settings, CheckpointInfo Info, bool Recorded) ReadResume(string checkpoint)
    {
        if (Directory.Exists(checkpoint))
            throw new ArgumentException($"{checkpoint} is a folder, not a file: give the checkpoint, e.g. {Path.Combine(checkpoint, RunFolder.CheckpointFile)}.");
        var info = TrainingCheckpoint.ReadInfo(checkpoint);
        var options = info.Options ?? throw new ArgumentException($"{checkpoint} holds weights only (no training state): it cannot be resumed.");
        var run = info.Run is null ? null : JsonSerializer.Deserialize<RunDefinition>(info.Run);
        bool recorded = run is not null;
        run ??= new RunDefinition("fashion-mnist", null, 0, 0, null);
        var settings = new RunSettings(info.Config.Name, run.Data, run.DataDir, options, Path.GetDirectoryName(Path.GetFullPath(checkpoint))!,
            run.TrainLimit, run.TestLimit, checkpoint, Init: null);
        return (settings, info, recorded);
    }

    /// <summary>Trains as <paramref name="settings"/> say and returns the summary (also written to summary.json).</summary>
    /// <remarks>
    /// The run folder is held for the whole run: a second run into it fails at once. A new run into a folder that holds a
    /// run is refused unless <see cref="RunSettings.Overwrite"/>. When <paramref name="cancellation"/> fires, the step under
    /// way finishes, the checkpoint is written at that step and <see cref="TrainingInterruptedException"/> is thrown:
    /// resuming it continues exactly where it stopped.
    /// </remarks>
    /// <example><code>var s = TrainingRun.Execute(new RunSettings("vit_micro_patch4_28", "fashion-mnist", null,
    ///     new TrainingOptions { Epochs = 2, Method = "etps", Adjust = "gas" }, "runs/etps-gas"));</code></example>
    /// <exception cref="ArgumentException">A setting is invalid (names which).</exception>
    /// <exception cref="FormatException">The method or adjuster spec is malformed.</exception>
    /// <exception cref="RunFolderException">Another run holds the folder, or it holds a run and overwriting was not asked for.</exception>
    /// <exception cref="WeightImportException">The <see cref="RunSettings.Init"/> weights do not fit the model (apart from its head).</exception>
    /// <exception cref="TrainingInterruptedException">Cancelled; the checkpoint holds the last step done.</exception>
    /// <exception cref="IOException">A file could not be written (the last checkpoint written stays intact; IO.IoErrors words it).</exception>
    public static RunSummary Execute(RunSettings settings, ITrainingObserver? observer = null, CancellationToken cancellation = default)
        => Execute(settings, SingleProcess.Instance, observer, cancellation);

    /// <summary>
    /// <see cref="Execute(RunSettings, ITrainingObserver?, CancellationToken)"/> as one member of a data-parallel group: every member
    /// calls it with the same settings (bar the device); rank 0 writes the run folder. An exception on any member aborts the group.
    /// </summary>
    /// <exception cref="CommunicatorException">Another member failed, or the members' settings differ (names the ranks).</exception>
    public static RunSummary Execute(RunSettings settings, ICommunicator communicator, ITrainingObserver? observer = null, CancellationToken cancellation = default)
    {
        try
        {
            return ExecuteMember(settings, communicator, observer, cancellation);
        }
        catch (Exception e) when (e is not (CommunicatorException or TrainingInterruptedException) && communicator.Size > 1)
        {
            communicator.Abort(e);
            throw;
        }
    }

    private static RunSummary ExecuteMember(RunSettings settings, ICommunicator comm, ITrainingObserver? observer, CancellationToken cancellation)
    {
        settings.Validate();
        bool lead = comm.Rank == 0;
        if (!lead) observer = null;
        var config = ModelRegistry.Get(settings.Model);
        var options = settings.Options;
        CheckpointInfo? resumed = null;
        if (settings.Resume is not null)
        {
            (var recorded, resumed, bool hasRun) = ReadResume(settings.Resume);
            config = resumed.Config;
            options = recorded.Options;
            if (hasRun) settings = settings with { Model = recorded.Model, Data = recorded.Data, DataDir = recorded.DataDir,
                                                   TrainLimit = recorded.TrainLimit, TestLimit = recorded.TestLimit };
        }
        options.Validate();
        // The method's spelling, parsed once: a malformed one fails here, before any data loads. A bare method for an adjuster
        // is read at a sample rate (its errors quote it so); the adjuster's rate replaces that before the first step.
        var method = options.Adjust.Trim() == "none" ? ReductionSpec.Parse(options.Method) : ReductionSpec.ParseBare(options.Method, 0.1);
        RefuseMismatch(comm, settings with { Options = options, Device = "", Overwrite = false, CheckpointEvery = 0, AllowNonFinite = false }, resumed?.Step);

        using var folder = lead ? RunFolder.Acquire(settings.OutDir) : null;
        bool continuing = lead && resumed is not null && SameFile(folder!.Checkpoint, settings.Resume!);
        if (lead && !continuing && folder!.HoldsRun)
        {
            if (!settings.Overwrite)
                throw new RunFolderException($"{settings.OutDir} holds a run ({Describe(folder)}): pass --overwrite to replace it, " +
                                             $"--resume {folder.Checkpoint} to continue it, or give another folder.");
            folder.Clear();
        }
        if (folder?.StaleOwner is not null) observer?.Note($"{settings.OutDir}: took over the lock of a run that ended without releasing it ({folder.StaleOwner}).");
        if (folder is not null && folder.RemovedTemporaryFiles.Count > 0)
            observer?.Note($"{settings.OutDir}: removed {folder.RemovedTemporaryFiles.Count} temporary file(s) of an interrupted write.");
        // The steps after the checkpoint are done again: the log forgets them (and a line torn by a kill).
        if (continuing) MetricsLog.KeepThroughStep(folder!.Metrics, resumed!.Step);

        var (train, normalization) = DataSets.Load(settings.Data, settings.DataDir, train: true);
        var (test, _) = DataSets.Load(settings.Data, settings.DataDir, train: false);
        if (settings.TrainLimit > 0) train = train.Take(Math.Min(settings.TrainLimit, train.Count));
        if (settings.TestLimit > 0) test = test.Take(Math.Min(settings.TestLimit, test.Count));

        // Fine-tuning replaces the pretrained head with one sized for the data's classes (the paper's CIFAR-10 runs).
        if (settings.Init is not null) config = config with { Classes = train.Classes };
        using var device = Runtime.Device.Open(settings.Device);
        using var model = new VisionTransformer(config, device, options.Seed);
        // Before the trainer exists: its optimizer state starts from the imported weights.
        var imported = settings.Init is null ? null : WeightImporter.Import(settings.Init, model,
            new WeightImportOptions { AllowNewHead = true, AllowNonFinite = settings.AllowNonFinite });
        if (imported is not null) observer?.Imported(imported);
        using var trainer = new Trainer(model, train, options, normalization, comm);
        var adjuster = RateAdjuster.Create(options.Adjust, options.Gas, trainer.Loader.BatchesPerEpoch, trainer.TotalSteps, options.Gap);
        trainer.ProbeEvery = adjuster?.ProbeEvery ?? 0;
        if (resumed is not null)
        {
            var loaded = TrainingCheckpoint.Load(settings.Resume!, model, trainer.Optimizer, settings.AllowNonFinite);
            if (loaded.NonFinite.Count > 0)
                observer?.Note($"{settings.Resume} holds non-finite values, loaded as --allow-nonfinite asks: {string.Join("; ", loaded.NonFinite)}.");
            if (adjuster is not null && resumed.AdjusterState is not null) adjuster.RestoreState(resumed.AdjusterState);
        }
        trainer.BroadcastState();
        var reduction = method?.Apply(model);
        if (adjuster is not null) reduction!.SetPruningRate(adjuster.Rate);
        string Spec() => reduction?.Spec.ToString() ?? "none";
        string definition = JsonSerializer.Serialize(new RunDefinition(settings.Data,
            settings.DataDir is null ? null : Path.GetFullPath(settings.DataDir), settings.TrainLimit, settings.TestLimit, settings.Init));

        using var log = lead ? new MetricsLog(folder!.Metrics) : null;
        log?.Write(new { @event = "start", model = config.Name, parameters = model.ParameterCount, data = settings.Data, trainImages = train.Count,
            testImages = test.Count, device = device.Info.Spec, worldSize = comm.Size, distributed = comm.Kind, resumedFromStep = resumed?.Step ?? 0,
            method = Spec(), options });
        if (imported is not null)
            log?.Write(new { @event = "init", weights = settings.Init, loaded = imported.Loaded.Count, skipped = imported.Skipped.Select(k => k.FileKey),
                converted = imported.Converted.Count, notes = imported.Notes });

        var clock = Stopwatch.StartNew();
        EvaluationResult last = default;
        int images = 0, saved = resumed?.Step ?? -1;
        string checkpointPath = folder?.Checkpoint ?? Path.Combine(settings.OutDir, RunFolder.CheckpointFile);
        void Save()
        {
            if (lead) TrainingCheckpoint.Save(folder!.Checkpoint, model, trainer.Optimizer, options, Spec(), adjuster?.SaveState(), definition);
            saved = trainer.Optimizer.StepCount;
        }
        void StopIfCancelled()
        {
            // Decided together: a member that stopped alone would leave the others waiting in the next all-reduce.
            if (!comm.Any(cancellation.IsCancellationRequested)) return;
            if (saved != trainer.Optimizer.StepCount) Save();
            log?.Write(new { @event = "interrupt", step = trainer.Optimizer.StepCount, epoch = trainer.Epoch, batch = trainer.BatchInEpoch, checkpoint = checkpointPath });
            throw new TrainingInterruptedException(trainer, checkpointPath);
        }
        void Body(Action<StepResult, double, double> report)
        {
            StopIfCancelled();
            while (!trainer.Finished)
            {
                foreach (var s in trainer.RunEpoch())
                {
                    images += s.Images * comm.Size;
                    double rate = adjuster?.Rate ?? 0;
                    log?.Write(new { @event = "step", s.Step, s.Epoch, s.Batch, s.Loss, s.GradNorm, lr = s.LearningRate, rate, s.UnprunedLoss,
                        seconds = clock.Elapsed.TotalSeconds });
                    if (adjuster?.Observe(s.Loss, s.GradNorm, s.UnprunedLoss) is { } w)
                    {
                        // Rank 0 decides: its adjuster's state replaces the others' (they saw the same loss and norm, so it agrees).
                        FollowRankZero(comm, adjuster);
                        log?.Write(new { @event = "window", step = s.Step, s.Epoch, w.Window, w.Rate, w.Loss, w.GradNorm, w.Scale,
                            signal = double.IsFinite(w.Signal) ? w.Signal : (double?)null });
                        reduction!.SetPruningRate(adjuster.Rate);
                    }
                    report(s, images / clock.Elapsed.TotalSeconds, adjuster?.Rate ?? 0);
                    // The evaluation is logged before the checkpoint that follows it: a kill between the two resumes from the
                    // previous checkpoint, whose log ends before this evaluation, so it is neither lost nor written twice.
                    bool epochEnd = trainer.BatchInEpoch == 0;
                    if (epochEnd && lead)
                    {
                        last = Evaluation.Evaluate(model, test, normalization);
                        log!.Write(new { @event = "eval", epoch = trainer.Epoch, step = trainer.Optimizer.StepCount, accuracy = last.Accuracy, loss = last.Loss,
                            gmacsPerImage = last.MacsPerImage / 1e9, method = Spec(), seconds = clock.Elapsed.TotalSeconds });
                    }
                    if (epochEnd || settings.CheckpointEvery > 0 && s.Step % settings.CheckpointEvery == 0) Save();
                    if (epochEnd) observer?.Epoch(trainer, trainer.Epoch, last);
                    StopIfCancelled();
                }
            }
        }
        if (observer is null) Body((_, _, _) => { });
        else observer.Run(trainer, Body);
        if (lead && last.Images == 0) last = Evaluation.Evaluate(model, test, normalization);     // resumed a finished run: report it

        var summary = new RunSummary(config.Name, settings.Data, Spec(), adjuster?.Rate ?? 0, last.Accuracy, last.Loss, last.MacsPerImage,
            trainer.Optimizer.StepCount, clock.Elapsed.TotalSeconds, checkpointPath, log?.Path ?? Path.Combine(settings.OutDir, RunFolder.MetricsFile))
        {
            WorldSize = comm.Size, CommunicationSeconds = trainer.CommunicationSeconds,
        };
        if (lead) AtomicFile.WriteText(folder!.Summary, JsonSerializer.Serialize(summary, ReportJson.Options));
        comm.Barrier();
        return summary;
    }

    /// <summary>Refuses to start when the members' settings differ from rank 0's (the device aside), naming the ranks.</summary>
    private static void RefuseMismatch(ICommunicator comm, RunSettings shared, int? resumedStep)
    {
        if (comm.Size == 1) return;
        var fingerprint = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(
            JsonSerializer.Serialize(new { shared, resumedStep })));
        var differing = comm.Disagreeing(fingerprint);
        if (differing.Length > 0)
            throw new CommunicatorException($"Rank(s) {string.Join(", ", differing)} of {comm.Size} were started with settings (model, data, limits, seed, " +
                                            "options or checkpoint) other than rank 0's: every rank must be given the same ones.");
    }

    /// <summary>Replaces the adjuster's state by rank 0's.</summary>
    private static void FollowRankZero(ICommunicator comm, RateAdjuster adjuster)
    {
        if (comm.Size == 1) return;
        var state = comm.Rank == 0 ? System.Text.Encoding.UTF8.GetBytes(adjuster.SaveState()) : [];
        Span<float> length = [state.Length];
        comm.Broadcast(length, 0);
        if (comm.Rank != 0) state = new byte[(int)length[0]];
        comm.Broadcast(state, 0);
        if (comm.Rank != 0) adjuster.RestoreState(System.Text.Encoding.UTF8.GetString(state));
    }

    /// <summary>
    /// Trains as <paramref name="settings"/> say on several accelerators of this process, data-parallel: one thread and one member
    /// of an <see cref="InProcessGroup"/> per device spec of <paramref name="devices"/>; returns rank 0's summary. A member that throws
    /// stops the others; the error names it.
    /// </summary>
    /// <exception cref="CommunicatorException">A member failed (the message names its rank and error; the inner exception is its own).</exception>
    public static RunSummary ExecuteInProcess(RunSettings settings, IReadOnlyList<string> devices, ITrainingObserver? observer = null,
        CancellationToken cancellation = default, int maxMessageFloats = 1 << 22)
    {
        if (devices.Count == 0) throw new ArgumentException("ExecuteInProcess needs at least one device.", nameof(devices));
        var group = new InProcessGroup(devices.Count, maxMessageFloats);
        var summaries = new RunSummary?[devices.Count];
        var threads = Enumerable.Range(0, devices.Count).Select(r => new Thread(() =>
        {
            try { summaries[r] = Execute(settings with { Device = devices[r] }, group.Members[r], r == 0 ? observer : null, cancellation); }
            catch (Exception e) { group.Fail(r, e); }
        }) { Name = $"ilgpuvit rank {r}", IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        if (group.Failure is { } f)
        {
            // The failing member's own exception type tells the caller what happened (an interrupt, a bad setting, ...).
            if (f.Error is TrainingInterruptedException or ArgumentException or FormatException or RunFolderException or IOException or TrainingDivergedException)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(f.Error).Throw();
            throw f.Error as CommunicatorException ?? new CommunicatorException($"rank {f.Rank} of {devices.Count} failed: {f.Error.Message}", f.Error);
        }
        return summaries[0]!;
    }

    private static bool SameFile(string a, string b) => string.Equals(Path.GetFullPath(a), Path.GetFullPath(b),
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>What the folder holds, for the refusal: the checkpoint's step, or the files.</summary>
    private static string Describe(RunFolder folder)
    {
        if (!File.Exists(folder.Checkpoint)) return "a metrics log or summary, no checkpoint";
        try { return $"a checkpoint at step {TrainingCheckpoint.ReadInfo(folder.Checkpoint).Step}"; }
        catch (Exception e) when (e is IOException or SafeTensorsFormatException) { return "a checkpoint"; }
    }
}

/// <summary>A run stopped on request (Ctrl-C, SIGTERM or a cancelled token) after finishing a step and writing its checkpoint.</summary>
public sealed class TrainingInterruptedException(Trainer trainer, string checkpoint) : Exception(
    $"Interrupted after step {trainer.Optimizer.StepCount} of {trainer.TotalSteps} (epoch {Position(trainer).Epoch} of {trainer.Options.Epochs}, " +
    $"batch {Position(trainer).Batch} of {trainer.Loader.BatchesPerEpoch}); {checkpoint} holds that step.")
{
    /// <summary>Steps done.</summary>
    public int Step { get; } = trainer.Optimizer.StepCount;

    /// <summary>The checkpoint that holds the last step.</summary>
    public string Checkpoint { get; } = checkpoint;

    /// <summary>The epoch (from 1) and batch (from 1) of the last step done.</summary>
    private static (int Epoch, int Batch) Position(Trainer t) =>
        t.Optimizer.StepCount == 0 ? (1, 0) : ((t.Optimizer.StepCount - 1) / t.Loader.BatchesPerEpoch + 1, (t.Optimizer.StepCount - 1) % t.Loader.BatchesPerEpoch + 1);
}
