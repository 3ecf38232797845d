// `ilgpuvit train`: trains a registered ViT on a named data set, evaluating on the test split after
// every epoch. Writes <out>/metrics.jsonl (a line per step and per evaluation),
// <out>/checkpoint.safetensors after every epoch (atomic: a crash keeps the previous one) and
// <out>/summary.json. --resume continues a checkpoint's run with its own settings.

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
        var resume = new Option<string?>("--resume") { Description = "Continue the run of this checkpoint (its settings win)." };
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("train", "Train a ViT, evaluating on the test split after every epoch.")
        {
            model, data, dataDir, epochs, batch, optimizer, lr, minLr, warmup, wd, smoothing, clip, pad, flip, seed, limit, testLimit, output, resume, device, json,
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
            };
            return Run(r.GetValue(model)!, dataName, r.GetValue(dataDir), options, r.GetValue(limit), r.GetValue(testLimit),
                r.GetValue(output) ?? Path.Combine("runs", $"{r.GetValue(model)}-{dataName}"), r.GetValue(resume), r.GetValue(device)!, r.GetValue(json));
        }));
        return command;
    }

    private static int Run(string modelName, string dataName, string? dataDir, TrainingOptions options, int trainLimit, int testLimit,
        string outDir, string? resume, string deviceSpec, bool json)
    {
        var config = ModelRegistry.Get(modelName);
        int step0 = 0;
        if (resume is not null)
        {
            var info = Checkpoint.ReadInfo(resume);
            config = info.Config;
            options = info.Options ?? throw new ArgumentException($"{resume} holds weights only (no training state): it cannot be resumed.");
            step0 = info.Step;
        }
        options.Validate();
        var (train, normalization) = DataSets.Load(dataName, dataDir, train: true);
        var (test, _) = DataSets.Load(dataName, dataDir, train: false);
        if (trainLimit > 0) train = train.Take(Math.Min(trainLimit, train.Count));
        if (testLimit > 0) test = test.Take(Math.Min(testLimit, test.Count));

        using var device = Device.Open(deviceSpec);
        using var model = new VisionTransformer(config, device, options.Seed);
        using var trainer = new Trainer(model, train, options, normalization);
        if (resume is not null) Checkpoint.Load(resume, model, trainer.Optimizer);
        Directory.CreateDirectory(outDir);
        string checkpointPath = Path.Combine(outDir, "checkpoint.safetensors");
        using var log = new MetricsLog(Path.Combine(outDir, "metrics.jsonl"));
        log.Write(new { @event = "start", model = config.Name, parameters = model.ParameterCount, data = dataName, trainImages = train.Count,
            testImages = test.Count, device = device.Info.Spec, resumedFromStep = step0, options });

        var clock = Stopwatch.StartNew();
        var progress = new TrainingProgress(trainer, quiet: json);
        EvaluationResult last = default;
        int images = 0;
        progress.Run(report =>
        {
            while (!trainer.Finished)
            {
                foreach (var s in trainer.RunEpoch())
                {
                    images += s.Images;
                    log.Write(new { @event = "step", s.Step, s.Epoch, s.Batch, s.Loss, s.GradNorm, lr = s.LearningRate, seconds = clock.Elapsed.TotalSeconds });
                    report(s, images / clock.Elapsed.TotalSeconds);
                }
                Checkpoint.Save(checkpointPath, model, trainer.Optimizer, options);
                last = Evaluation.Evaluate(model, test, normalization);
                int epoch = trainer.Epoch;
                log.Write(new { @event = "eval", epoch, step = trainer.Optimizer.StepCount, accuracy = last.Accuracy, loss = last.Loss, seconds = clock.Elapsed.TotalSeconds });
                progress.Epoch(epoch, last);
            }
        });
        if (last.Images == 0) last = Evaluation.Evaluate(model, test, normalization);     // resumed a finished run: report it

        var summary = new
        {
            model = config.Name, data = dataName, device = device.Info.Spec, parameters = model.ParameterCount,
            epochs = options.Epochs, steps = trainer.Optimizer.StepCount, testAccuracy = last.Accuracy, testLoss = last.Loss,
            trainSeconds = clock.Elapsed.TotalSeconds, trainImagesPerSecond = images / clock.Elapsed.TotalSeconds,
            checkpoint = checkpointPath, metrics = log.Path,
        };
        string text = JsonSerializer.Serialize(summary, CommonOptions.JsonStyle);
        File.WriteAllText(Path.Combine(outDir, "summary.json"), text);
        if (json) Console.WriteLine(text);
        else AnsiConsole.MarkupLine($"[bold]Test accuracy {last.Accuracy:P2}[/] (loss {last.Loss:F4}) after {trainer.Optimizer.StepCount} steps in " +
            $"{clock.Elapsed:hh\\:mm\\:ss}. Checkpoint: {Markup.Escape(checkpointPath)}");
        return 0;
    }
}
