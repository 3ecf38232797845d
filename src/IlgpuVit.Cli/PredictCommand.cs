// `ilgpuvit predict`: the top-5 classes of image files under pretrained weights or a training checkpoint
// (Experiments.Prediction does the work; docs/models.md, "Prediction"). This file parses and prints: a
// table per image, or one JSON object with every image's classes and probabilities.

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Experiments;
using IlgpuVit.Metrics;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class PredictCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("IMAGE") { Arity = ArgumentArity.OneOrMore, Description = "Image files (JPEG or PNG)." };
        var weights = new Option<string?>("--weights") { Description = "Pretrained weights (safetensors, timm or torchvision names)." };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A checkpoint written by `ilgpuvit train`." };
        var arch = CommonOptions.Arch();
        var method = new Option<string>("--method") { DefaultValueFactory = _ => "none", Description = "Token reduction at inference, e.g. tome:r=8 or topk-vpa:rate=0.06." };
        var labels = new Option<string?>("--labels") { Description = "Class names: one per line, a JSON array, or a JSON object from index to name (default: the names the weights carry)." };
        var top = new Option<int>("--top") { DefaultValueFactory = _ => 5, Description = "Classes per image." };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Load weights holding NaN or Inf instead of refusing them." };
        var preprocess = new PreprocessFlags();
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("predict", "The top classes of image files, with probabilities, under pretrained weights or a checkpoint.")
        {
            images, weights, checkpoint, arch, method, labels, top, allowNonFinite, device, json,
        };
        foreach (var option in preprocess.All) command.Options.Add(option);
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            string? weightsPath = r.GetValue(weights), checkpointPath = r.GetValue(checkpoint);
            if (weightsPath is not null && checkpointPath is not null)
                throw new ArgumentException("--weights and --checkpoint are exclusive: predict with pretrained weights or a training checkpoint.");
            if (weightsPath is null && checkpointPath is null)
                throw new ArgumentException("Give --weights FILE [--arch NAME|CONFIG.json] or --checkpoint FILE.");
            if (checkpointPath is not null && r.GetValue(arch) is not null)
                throw new ArgumentException("--arch goes with --weights: a checkpoint carries its configuration.");
            var settings = new PredictSettings(r.GetValue(images)!, weightsPath, checkpointPath, r.GetValue(arch), r.GetValue(method)!, r.GetValue(labels),
                preprocess.Read(r), r.AtLeast(top, 1), r.GetValue(device)!, r.GetValue(allowNonFinite));
            var report = Prediction.Run(settings);
            if (r.GetValue(json)) Console.WriteLine(JsonSerializer.Serialize(report, ReportJson.Options));
            else Render(ConsoleTables.Current(), report);
            return 0;
        }));
        return command;
    }

    private static void Render(IAnsiConsole console, PredictionReport report)
    {
        console.MarkupLine($"{Markup.Escape(report.Model)} ({report.Classes} classes), method {Markup.Escape(report.Method)}, {Markup.Escape(report.Device)}");
        foreach (var image in report.Images)
        {
            console.MarkupLine($"[bold]{Markup.Escape(image.Path)}[/]");
            foreach (var c in image.Top)
                console.MarkupLine($"  {c.Probability,7:P2}  {c.Index,5}  {Markup.Escape(c.Name ?? "")}");
        }
    }
}
