// `ilgpuvit train`: trains a registered ViT on a named data set (optionally with token reduction and
// a pruning-rate adjuster), evaluating on the test split after every epoch: the options of
// Training.TrainingRun, which writes <out>/metrics.jsonl, <out>/checkpoint.safetensors after every
// epoch (atomic: a crash keeps the previous one) and <out>/summary.json. --resume continues a
// checkpoint's run with its own settings; --init starts from pretrained weights with a new head.

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.Runtime;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class TrainCommand
{
    public static Command Create()
    {
        var d = new TrainingOptions();
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelRegistry.Names)}.", DefaultValueFactory = _ => "vit_micro_patch4_28" };
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
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => d.Seed, Description = "Seed of initialisation, shuffle and augmentation." };
        var limit = new Option<int>("--train-limit") { Description = "Use only the first N training images (quick runs)." };
        var testLimit = new Option<int>("--test-limit") { Description = "Evaluate on only the first N test images." };
        var output = new Option<string?>("--out") { Description = "Run folder (default runs/<model>-<data>)." };
        var method = new Option<string>("--method") { DefaultValueFactory = _ => d.Method, Description = "Token reduction while training: none, METHOD:RATE (e.g. topk:rate=0.06, tome:r=4), or a bare METHOD with --adjust." };
        var adjust = new Option<string>("--adjust") { DefaultValueFactory = _ => d.Adjust, Description = "Who sets the pruning rate of a bare --method: gas, or ramp:P0..P1 (a linear schedule)." };
        var gasEta = new Option<double>("--gas-eta") { DefaultValueFactory = _ => d.Gas.Eta, Description = "GAS: base rate step per window." };
        var gasTol = new Option<double>("--gas-tol") { DefaultValueFactory = _ => d.Gas.Tolerance, Description = "GAS: relative loss change counted as falling or rising." };
        var gasBackoff = new Option<double>("--gas-backoff") { DefaultValueFactory = _ => d.Gas.Backoff, Description = "GAS: step-down factor when the loss rises." };
        var gasWindow = new Option<double>("--gas-window") { DefaultValueFactory = _ => d.Gas.WindowEpochs, Description = "GAS: window length in epochs." };
        var gasMax = new Option<double>("--gas-max-rate") { DefaultValueFactory = _ => d.Gas.RateMax, Description = "GAS: largest pruning rate." };
        var resume = new Option<string?>("--resume") { Description = "Continue the run of this checkpoint (its settings win)." };
        var init = new Option<string?>("--init") { Description = "Start from pretrained weights (safetensors, timm or torchvision names) with a new head where the class count differs; pos_embed is resampled for another image size." };
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("train", "Train a ViT, evaluating on the test split after every epoch.")
        {
            model, data, dataDir, epochs, batch, optimizer, lr, minLr, warmup, wd, smoothing, clip, pad, flip, seed, method, adjust,
            gasEta, gasTol, gasBackoff, gasWindow, gasMax, limit, testLimit, output, resume, init, device, json,
        };
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            string dataName = r.GetValue(data)!;
            var augmentation = DataSets.DefaultAugmentation(dataName);
            var options = new TrainingOptions
            {
                Epochs = r.GetValue(epochs), BatchSize = r.GetValue(batch), Optimizer = r.GetValue(optimizer)!, LearningRate = r.GetValue(lr),
                MinLearningRate = r.GetValue(minLr), WarmupEpochs = r.GetValue(warmup), WeightDecay = r.GetValue(wd),
                LabelSmoothing = r.GetValue(smoothing), ClipNorm = r.GetValue(clip), CropPadding = r.GetValue(pad) ?? augmentation.Padding,
                HorizontalFlip = r.GetValue(flip) ?? augmentation.HorizontalFlip, Seed = r.GetValue(seed),
                Method = r.GetValue(method)!, Adjust = r.GetValue(adjust)!,
                Gas = d.Gas with
                {
                    Eta = r.GetValue(gasEta), Tolerance = r.GetValue(gasTol), Backoff = r.GetValue(gasBackoff), WindowEpochs = r.GetValue(gasWindow),
                    RateMax = r.GetValue(gasMax),
                },
            };
            var settings = new RunSettings(r.GetValue(model)!, dataName, r.GetValue(dataDir), options,
                r.GetValue(output) ?? Path.Combine("runs", $"{r.GetValue(model)}-{dataName}"), r.GetValue(limit), r.GetValue(testLimit),
                r.GetValue(resume), r.GetValue(device)!, r.GetValue(init));
            return Run(settings, r.GetValue(json));
        }));
        return command;
    }

    private static int Run(RunSettings settings, bool json)
    {
        var summary = TrainingRun.Execute(settings, new TrainingProgress(quiet: json));
        if (json) Console.WriteLine(JsonSerializer.Serialize(summary, CommonOptions.JsonStyle));
        else AnsiConsole.MarkupLine($"[bold]Test accuracy {summary.TestAccuracy:P2}[/] (loss {summary.TestLoss:F4}, {Markup.Escape(summary.Method)}, " +
            $"{summary.MacsPerImage / 1e9:F4} GMACs per image) after {summary.Steps} steps in {TimeSpan.FromSeconds(summary.TrainSeconds):hh\\:mm\\:ss}. " +
            $"Checkpoint: {Markup.Escape(summary.Checkpoint)}");
        return 0;
    }
}
