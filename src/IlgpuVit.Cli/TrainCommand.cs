// `ilgpuvit train`: trains a registered ViT on a named data set (optionally with token reduction and
// a pruning-rate adjuster), evaluating on the test split after every epoch: the options of
// Training.TrainingRun, which owns the run folder while it trains and writes metrics.jsonl,
// checkpoint.safetensors (atomic) and summary.json there. --resume continues a checkpoint's run with
// its own settings, beside it; a flag that would change that run is refused, one naming what the
// checkpoint says. The first Ctrl-C or SIGTERM stops after the step under way with a checkpoint of
// it (exit 130); a second one ends the process at once. docs/runs.md tells the whole story.

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class TrainCommand
{
    // The quick start's model: the micro ViT with a convolutional stem and average pooling, 91.33% on Fashion-MNIST in the
    // default 16 epochs, against 90.78% with the class token's pooling and 89.29% with the patch projection (docs/results/quickstart-recipe).
    private const string DefaultModel = "vit_micro_conv4_gap_28";

    public static Command Create()
    {
        var d = new TrainingOptions();
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelRegistry.Names)}.", DefaultValueFactory = _ => DefaultModel };
        var data = new Option<string>("--data") { Description = "Data set: fashion-mnist or cifar10.", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the data set's files (default for fashion-mnist: " + FashionMnist.DefaultFolder + ")." };
        var epochs = new Option<int>("--epochs") { DefaultValueFactory = _ => d.Epochs, Description = "Passes over the training set." };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => d.BatchSize, Description = "Images per step." };
        var optimizer = new Option<string>("--optimizer") { DefaultValueFactory = _ => d.Optimizer, Description = "adamw or sgd." };
        var lr = new Option<float>("--lr") { DefaultValueFactory = _ => d.LearningRate, Description = "Peak learning rate." };
        var minLr = new Option<float>("--min-lr") { DefaultValueFactory = _ => d.MinLearningRate, Description = "Final learning rate of the cosine schedule." };
        var warmup = new Option<float>("--warmup-epochs") { DefaultValueFactory = _ => d.WarmupEpochs, Description = "Epochs of linear warm-up." };
        var wd = new Option<float>("--weight-decay") { DefaultValueFactory = _ => d.WeightDecay, Description = "Weight decay (matrices only)." };
        var smoothing = new Option<float>("--label-smoothing") { DefaultValueFactory = _ => d.LabelSmoothing, Description = "Label smoothing." };
        var clip = new Option<float>("--clip") { DefaultValueFactory = _ => d.ClipNorm, Description = "Clip gradients to this global norm (0: off)." };
        var pad = new Option<int?>("--crop-padding") { Description = "Random-crop padding in pixels, 0 for none (default: the data set's; fashion-mnist 0, cifar10 4)." };
        var flip = new Option<bool?>("--flip") { Description = "Random horizontal flips: true or false (default: the data set's; true for fashion-mnist and cifar10)." };
        var erasing = new Option<double>("--erasing") { DefaultValueFactory = _ => d.RandomErasing, Description = "Probability of random erasing: one rectangle of 2-33% of each training image set to the mean pixel (0: off)." };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => d.Seed, Description = "Seed of initialisation, shuffle and augmentation." };
        var limit = new Option<int?>("--train-limit") { Description = "Use only the first N training images, N >= 1 (quick runs; default all)." };
        var testLimit = new Option<int?>("--test-limit") { Description = "Evaluate on only the first N test images, N >= 1 (default all)." };
        var output = new Option<string?>("--out")
        {
            Description = "Run folder. Default runs/<model>-<data>, or runs/<model>-<data>-2, -3, ... when that one holds a run. " +
                          "A folder given here that holds a run is refused unless --overwrite.",
        };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the run the --out folder holds (its checkpoint, metrics and summary)." };
        var checkpointEvery = new Option<int?>("--checkpoint-every") { Description = "Also write the checkpoint every N steps (it is always written after each epoch and on Ctrl-C)." };
        var method = new Option<string>("--method") { DefaultValueFactory = _ => d.Method, Description = "Token reduction while training: none, METHOD:RATE (e.g. topk:rate=0.06, tome:r=4), or a bare METHOD with --adjust." };
        var adjust = new Option<string>("--adjust") { DefaultValueFactory = _ => d.Adjust, Description = "Who sets the pruning rate of a bare --method: gas, gap (the pruning-gap controller, docs/adjusters.md), or ramp:P0..P1 (a linear schedule)." };
        var gasEta = new Option<double>("--gas-eta") { DefaultValueFactory = _ => d.Gas.Eta, Description = "GAS: base rate step per window." };
        var gasTol = new Option<double>("--gas-tol") { DefaultValueFactory = _ => d.Gas.Tolerance, Description = "GAS: relative loss change counted as falling or rising." };
        var gasBackoff = new Option<double>("--gas-backoff") { DefaultValueFactory = _ => d.Gas.Backoff, Description = "GAS: step-down factor when the loss rises." };
        var gasWindow = new Option<double>("--gas-window") { DefaultValueFactory = _ => d.Gas.WindowEpochs, Description = "GAS: window length in epochs." };
        var gasMax = new Option<double>("--gas-max-rate") { DefaultValueFactory = _ => d.Gas.RateMax, Description = "GAS: largest pruning rate." };
        var resume = new Option<string?>("--resume")
        {
            Description = "Continue the run of this checkpoint, in its folder, with every setting it records (data, limits, seed, method, " +
                          "schedule, ...). Only --device, --json, --checkpoint-every and --allow-nonfinite may be added; other flags must repeat the checkpoint's values.",
        };
        var init = new Option<string?>("--init") { Description = "Start from pretrained weights (safetensors, timm or torchvision names) with a new head where the class count differs; pos_embed is resampled for another image size." };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Load --resume or --init weights that hold NaN or infinity (warned) instead of refusing them." };
        var device = CommonOptions.Device();
        device.Description = "Accelerator: auto, cpu, cuda[:N] or opencl[:N]; several for data-parallel training in this process: a list " +
                             "(cuda:0,cuda:1) or cpu:N (N CPU accelerators of one core each). --batch-size is the global batch, split across them.";
        var distributed = new Option<string>("--distributed")
        {
            DefaultValueFactory = _ => "none",
            Description = "none, or mpi: data-parallel across the processes of an MPI job (mpirun -np N ilgpuvit train --distributed mpi ...); " +
                          "--batch-size is the global batch, split across the ranks. docs/distributed.md.",
        };
        var json = CommonOptions.Json();
        var command = new Command("train", "Train a ViT, evaluating on the test split after every epoch.")
        {
            distributed,
            model, data, dataDir, epochs, batch, optimizer, lr, minLr, warmup, wd, smoothing, clip, pad, flip, erasing, seed, method, adjust,
            gasEta, gasTol, gasBackoff, gasWindow, gasMax, limit, testLimit, output, overwrite, checkpointEvery, resume, init, allowNonFinite, device, json,
        };
        // What each run-defining flag sets, to compare a resumed run's flags with its checkpoint.
        var defines = new (Option Option, Func<RunSettings, object?> Value)[]
        {
            (model, s => s.Model), (data, s => s.Data), (dataDir, s => s.DataDir is null ? null : Path.GetFullPath(s.DataDir)),
            (epochs, s => s.Options.Epochs), (batch, s => s.Options.BatchSize), (optimizer, s => s.Options.Optimizer),
            (lr, s => s.Options.LearningRate), (minLr, s => s.Options.MinLearningRate), (warmup, s => s.Options.WarmupEpochs),
            (wd, s => s.Options.WeightDecay), (smoothing, s => s.Options.LabelSmoothing), (clip, s => s.Options.ClipNorm),
            (pad, s => s.Options.CropPadding), (flip, s => s.Options.HorizontalFlip), (erasing, s => s.Options.RandomErasing), (seed, s => s.Options.Seed),
            (method, s => s.Options.Method), (adjust, s => s.Options.Adjust), (gasEta, s => s.Options.Gas.Eta), (gasTol, s => s.Options.Gas.Tolerance),
            (gasBackoff, s => s.Options.Gas.Backoff), (gasWindow, s => s.Options.Gas.WindowEpochs), (gasMax, s => s.Options.Gas.RateMax),
            (limit, s => s.TrainLimit), (testLimit, s => s.TestLimit), (output, s => Path.GetFullPath(s.OutDir)),
        };
        string[] dataFlags = ["--data", "--data-dir", "--train-limit", "--test-limit"];
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            bool Given(Option o) => r.GetResult(o) is { Implicit: false };
            string dataName = r.GetValue(data)!;
            var augmentation = DataSets.DefaultAugmentation(dataName);
            var options = new TrainingOptions
            {
                Epochs = r.GetValue(epochs), BatchSize = r.GetValue(batch), Optimizer = r.GetValue(optimizer)!, LearningRate = r.GetValue(lr),
                MinLearningRate = r.GetValue(minLr), WarmupEpochs = r.GetValue(warmup), WeightDecay = r.GetValue(wd),
                LabelSmoothing = r.GetValue(smoothing), ClipNorm = r.GetValue(clip), CropPadding = r.GetValue(pad) ?? augmentation.Padding,
                HorizontalFlip = r.GetValue(flip) ?? augmentation.HorizontalFlip, RandomErasing = r.GetValue(erasing), Seed = r.GetValue(seed),
                Method = r.GetValue(method)!, Adjust = r.GetValue(adjust)!,
                Gas = d.Gas with
                {
                    Eta = r.GetValue(gasEta), Tolerance = r.GetValue(gasTol), Backoff = r.GetValue(gasBackoff), WindowEpochs = r.GetValue(gasWindow),
                    RateMax = r.GetValue(gasMax),
                },
            };
            string defaultOut = Path.Combine("runs", $"{r.GetValue(model)}-{dataName}");
            var flags = new RunSettings(r.GetValue(model)!, dataName, r.GetValue(dataDir), options, r.GetValue(output) ?? defaultOut,
                r.AtLeast(limit, 1) ?? 0, r.AtLeast(testLimit, 1) ?? 0, Device: r.GetValue(device)!, Init: r.GetValue(init),
                CheckpointEvery: r.AtLeast(checkpointEvery, 1) ?? 0, Overwrite: r.GetValue(overwrite), AllowNonFinite: r.GetValue(allowNonFinite));
            var notes = new List<string>();
            RunSettings settings;
            if (r.GetValue(resume) is { } checkpoint)
            {
                if (Given(init)) throw new ArgumentException("--init and --resume are exclusive: a resumed run continues from its checkpoint's weights.");
                if (Given(overwrite)) throw new ArgumentException("--overwrite does not go with --resume: a resumed run continues its own folder.");
                var recorded = TrainingRun.ResumeSettings(checkpoint, out bool hasData);
                if (!hasData)
                {
                    // Written before checkpoints recorded their data: those flags still say what the run trained on.
                    recorded = recorded with { Data = flags.Data, DataDir = flags.DataDir, TrainLimit = flags.TrainLimit, TestLimit = flags.TestLimit };
                    notes.Add($"{checkpoint} does not record its data settings (an older checkpoint): {string.Join(", ", dataFlags)} are taken from the command line.");
                }
                foreach (var (option, value) in defines)
                    if (Given(option) && !(hasData is false && dataFlags.Contains(option.Name)) && !Equals(value(flags), value(recorded)))
                        throw new ArgumentException($"{option.Name} {Show(value(flags))} would change the run being resumed, whose checkpoint says " +
                            $"{Show(value(recorded))}: --resume takes every setting from the checkpoint (only --device, --json, --checkpoint-every " +
                            "and --allow-nonfinite may be added).");
                settings = recorded with
                {
                    Device = flags.Device, CheckpointEvery = flags.CheckpointEvery, AllowNonFinite = flags.AllowNonFinite,
                };
            }
            else if (r.GetValue(output) is null)
            {
                settings = flags with { OutDir = RunFolder.FirstFree(defaultOut) };
                if (settings.OutDir != defaultOut) notes.Add($"{defaultOut} holds an earlier run: writing to {settings.OutDir}.");
            }
            else settings = flags;
            return Run(settings, r.GetValue(json), notes, r.GetValue(distributed)!.Trim().ToLowerInvariant());
        }));
        return command;
    }

    private static string Show(object? value) => value switch
    {
        null => "(none)",
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        double v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        _ => value.ToString() ?? "",
    };

    private static int Run(RunSettings settings, bool json, List<string> notes, string distributed)
    {
        if (distributed is not ("none" or "mpi"))
            throw new ArgumentException($"--distributed {distributed} is not known: give none or mpi.");
        if (distributed == "none" && int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE"), out int ranks) && ranks > 1)
            throw new ArgumentException($"This process is one of {ranks} ranks of an MPI job: add --distributed mpi (otherwise each rank would train alone).");
        var group = Runtime.Device.Group(settings.Device);
        if (distributed == "mpi" && group is not null)
            throw new ArgumentException($"--distributed mpi takes one device per process, not {settings.Device}: start one rank per device.");
        using var mpi = distributed == "mpi" ? Mpi.MpiCommunicator.World() : null;
        bool lead = mpi is null || mpi.Rank == 0;
        var progress = new TrainingProgress(quiet: json || !lead);
        if (lead) foreach (var note in notes) progress.Note(note);
        using var stop = StopSignal.Listen();
        RunSummary summary;
        try
        {
            summary = mpi is not null ? TrainingRun.Execute(settings, mpi, progress, stop.Token)
                : group is not null ? TrainingRun.ExecuteInProcess(settings, group, progress, stop.Token)
                : TrainingRun.Execute(settings, progress, stop.Token);
        }
        catch (TrainingInterruptedException e)
        {
            AnsiConsole.Console.Profile.Out.Writer.Flush();
            Console.Error.WriteLine($"{e.Message}\nResume with: ilgpuvit train --resume {e.Checkpoint}");
            return StopSignal.ExitCode;
        }
        if (!lead) return 0;
        if (json) Console.WriteLine(JsonSerializer.Serialize(summary, ReportJson.Options));
        else if (summary.WorldSize > 1) AnsiConsole.MarkupLine($"[bold]Test accuracy {summary.TestAccuracy:P2}[/] after {summary.Steps} steps on " +
            $"{summary.WorldSize} ranks in {TimeSpan.FromSeconds(summary.TrainSeconds):hh\\:mm\\:ss}: " +
            $"{summary.Steps * settings.Options.BatchSize / summary.TrainSeconds:F0} img/s, " +
            $"{summary.Steps * settings.Options.BatchSize / summary.TrainSeconds / summary.WorldSize:F0} img/s per rank, " +
            $"{summary.CommunicationSeconds / Math.Max(summary.Steps, 1) * 1e3:F2} ms all-reduce per step. Checkpoint: {Markup.Escape(summary.Checkpoint)}");
        else AnsiConsole.MarkupLine($"[bold]Test accuracy {summary.TestAccuracy:P2}[/] (loss {summary.TestLoss:F4}, {Markup.Escape(summary.Method)}, " +
            $"{summary.MacsPerImage / 1e9:F4} GMACs per image) after {summary.Steps} steps in {TimeSpan.FromSeconds(summary.TrainSeconds):hh\\:mm\\:ss}. " +
            $"Checkpoint: {Markup.Escape(summary.Checkpoint)}");
        return 0;
    }
}
