// `ilgpuvit eval`: accuracy, loss and GMACs of a checkpoint on a data set's test split, optionally
// with a reduction method applied at inference (no retraining).

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.Runtime;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string>("--checkpoint") { Description = "A checkpoint written by `ilgpuvit train`.", Required = true };
        var data = new Option<string>("--data") { Description = "Data set: fashion-mnist or cifar10.", DefaultValueFactory = _ => "fashion-mnist" };
        var dataDir = new Option<string?>("--data-dir") { Description = "Folder of the data set's files." };
        var batch = new Option<int>("--batch-size") { DefaultValueFactory = _ => 256, Description = "Images per forward." };
        var limit = new Option<int>("--test-limit") { Description = "Evaluate on only the first N test images." };
        var method = new Option<string?>("--method") { Description = "Token reduction at inference: none, or METHOD:RATE such as tome:r=4 (default: the method the checkpoint was trained with, at its final rate)." };
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("eval", "Evaluate a checkpoint on a data set's test split.") { checkpoint, data, dataDir, batch, limit, method, device, json };
        command.SetAction(r => CommonOptions.Guard(() =>
            Run(r.GetValue(checkpoint)!, r.GetValue(data)!, r.GetValue(dataDir), r.GetValue(batch), r.GetValue(limit), r.GetValue(method), r.GetValue(device)!,
                r.GetValue(json))));
        return command;
    }

    private static int Run(string path, string dataName, string? dataDir, int batchSize, int limit, string? methodSpec, string deviceSpec, bool json)
    {
        if (batchSize < 1) throw new ArgumentException($"--batch-size must be at least 1, got {batchSize}.");
        var info = Checkpoint.ReadInfo(path);
        var (test, normalization) = DataSets.Load(dataName, dataDir, train: false);
        if (limit > 0) test = test.Take(Math.Min(limit, test.Count));
        using var device = Device.Open(deviceSpec);
        using var model = new VisionTransformer(info.Config, device);
        Checkpoint.Load(path, model);
        methodSpec ??= info.Method ?? "none";
        Reduction.ReductionMethod.Apply(model, methodSpec);
        var result = Evaluation.Evaluate(model, test, normalization, batchSize);
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                checkpoint = path, model = info.Config.Name, data = dataName, device = device.Info.Spec, step = info.Step,
                method = methodSpec, accuracy = result.Accuracy, loss = result.Loss,
                gmacsPerImage = result.MacsPerImage / 1e9, tokensAfterLayer = result.TokensAfterLayer, images = result.Images, seconds = result.Seconds, imagesPerSecond = result.ImagesPerSecond,
            }, CommonOptions.JsonStyle));
        else
            AnsiConsole.MarkupLine($"{Markup.Escape(info.Config.Name)} [bold]{Markup.Escape(methodSpec)}[/] on {dataName} test ({result.Images} images, " +
                $"{device.Info.Spec}): accuracy [bold]{result.Accuracy:P2}[/], loss {result.Loss:F4}, {result.MacsPerImage / 1e9:F4} GMACs per image, " +
                $"{result.ImagesPerSecond:F0} images/s");
        return 0;
    }
}
