// `ilgpuvit eval`: accuracy, loss and GMACs of a checkpoint on a data set's test split, optionally
// with a reduction method applied at inference (Training.CheckpointEvaluation); or, with --weights,
// pretrained weights on an ImageNet-layout folder (Experiments.PretrainedEvaluation: top-1, top-5,
// GMACs, latency, a --compare table). This file only parses the options and prints the results.
// The two modes are exclusive. Weights holding NaN or ±Inf are refused unless --allow-nonfinite, which
// loads them with a warning on stderr; a non-finite accuracy or loss is reported as such (JSON null and
// "nonFinite": true), not as a crash.

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Data;
using IlgpuVit.Experiments;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class EvalCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A checkpoint written by `ilgpuvit train`, evaluated on a data set's test split." };
        var weights = new Option<string?>("--weights") { Description = "Pretrained weights (safetensors, timm or torchvision names), evaluated on an ImageNet-layout folder." };
        var arch = CommonOptions.Arch();
        var data = new Option<string?>("--data") { Description = "With --checkpoint: data set, fashion-mnist (default) or cifar10. With --weights: the image folder (one sub-folder per class)." };
        var dataDir = new Option<string?>("--data-dir") { Description = "With --checkpoint: folder of the data set's files." };
        var batch = new Option<int?>("--batch-size", "--batch") { Description = "Images per forward (default 256 with --checkpoint, 64 with --weights)." };
        var limit = new Option<int?>("--test-limit", "--limit") { Description = "Evaluate on only the first N images (with --weights: readable images, in folder order); all when absent." };
        var method = new Option<string?>("--method") { Description = "Token reduction at inference: none, or METHOD:RATE such as tome:r=4 (with --checkpoint the default is the method it was trained with, at its final rate)." };
        var compare = new Option<string?>("--compare") { Description = "With --weights: several specs separated by ';' (e.g. \"topk-vpa:rate=0.06;tome:r=8\"), one table row each, beside the unpruned model." };
        var preprocess = new PreprocessFlags();
        var classMap = new Option<string?>("--class-map") { Description = "With --weights: a JSON object from class folder name to class index (a subset of the head's classes)." };
        var indexFolders = new Option<bool>("--class-index-folders") { Description = "With --weights: the class folders are named by their class index (0, 1, ...)." };
        var allowNewHead = new Option<bool>("--allow-new-head") { Description = "With --weights: a head of another class count is replaced by an untrained one sized to the folder instead of failing." };
        var latencyRuns = new Option<int>("--latency-runs") { DefaultValueFactory = _ => 20, Description = "With --weights: timed forwards of the first batch per spec." };
        var allowNonFinite = new Option<bool>("--allow-nonfinite") { Description = "Load weights holding NaN or Inf (with a warning naming the tensors) instead of refusing them." };
        var device = CommonOptions.Device();
        var json = CommonOptions.Json();
        var command = new Command("eval", "Evaluate a checkpoint on a data set's test split, or pretrained weights on an ImageNet-layout folder.")
        {
            checkpoint, weights, arch, data, dataDir, batch, limit, method, compare, classMap, indexFolders, allowNewHead, latencyRuns, allowNonFinite, device, json,
        };
        foreach (var option in preprocess.All) command.Options.Add(option);
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            string? checkpointPath = r.GetValue(checkpoint), weightsPath = r.GetValue(weights);
            if (checkpointPath is not null && weightsPath is not null)
                throw new ArgumentException("--checkpoint and --weights are exclusive: evaluate a training checkpoint or pretrained weights, not both.");
            if (checkpointPath is null && weightsPath is null)
                throw new ArgumentException("Give --checkpoint FILE (a training checkpoint) or --weights FILE --arch NAME --data DIR (pretrained weights).");
            int? batchSize = r.AtLeast(batch, 1), testLimit = r.AtLeast(limit, 1);
            int runs = r.AtLeast(latencyRuns, 1);
            if (checkpointPath is not null)
            {
                foreach (var (name, given) in new[] { ("--arch", r.GetValue(arch) is not null), ("--compare", r.GetValue(compare) is not null),
                             ("--allow-new-head", r.GetValue(allowNewHead)), ("--class-map", r.GetValue(classMap) is not null),
                             ("--class-index-folders", r.GetValue(indexFolders)) })
                    if (given) throw new ArgumentException($"{name} goes with --weights, not --checkpoint.");
                return Run(new CheckpointEvalSettings(checkpointPath, r.GetValue(data) ?? "fashion-mnist", r.GetValue(dataDir), batchSize ?? 256,
                    testLimit, r.GetValue(method), r.GetValue(device)!, r.GetValue(allowNonFinite)), r.GetValue(json));
            }
            string folder = r.GetValue(data) ?? throw new ArgumentException("--weights needs --data DIR, an ImageNet-layout folder (one sub-folder of images per class).");
            var settings = new PretrainedEvalSettings(weightsPath!, r.GetValue(arch), folder,
                Specs(r.GetValue(method), r.GetValue(compare)), batchSize ?? 64, testLimit, preprocess.Read(r),
                r.GetValue(allowNewHead), runs, r.GetValue(device)!, r.GetValue(allowNonFinite), ClassMap(r.GetValue(classMap), r.GetValue(indexFolders), folder));
            return RunPretrained(settings, r.GetValue(json));
        }));
        return command;
    }

    /// <summary>The class map --class-map or --class-index-folders give for <paramref name="folder"/>, or null.</summary>
    internal static IReadOnlyDictionary<string, int>? ClassMap(string? file, bool indexFolders, string folder) => (file, indexFolders) switch
    {
        (not null, true) => throw new ArgumentException("--class-map and --class-index-folders are exclusive: give a map, or name the folders by index."),
        (not null, false) => Images.ImageFolder.ReadClassMap(file),
        (null, true) => Images.ImageFolder.IndexNamedFolders(folder),
        _ => null,
    };

    /// <summary>The rows: --method's spec alone, or "none" then the --compare specs.</summary>
    internal static IReadOnlyList<string> Specs(string? method, string? compare)
    {
        if (compare is null) return [method ?? "none"];
        if (method is not null) throw new ArgumentException("--method and --compare are exclusive: list every spec in --compare.");
        var specs = compare.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        if (specs.Count == 0) throw new ArgumentException("--compare lists no spec: give specs separated by ';', e.g. \"topk-vpa:rate=0.06;tome:r=8\".");
        return ["none", .. specs.Where(s => s != "none")];
    }

    /// <summary>One line on stderr naming the non-finite tensors that were loaded (nothing when there are none).</summary>
    private static void WarnNonFinite(string path, IReadOnlyList<NonFiniteTensor> tensors)
    {
        const int listed = 8;
        if (tensors.Count == 0) return;
        Console.Error.WriteLine($"warning: {path}: loaded non-finite weights as --allow-nonfinite asks: " +
            string.Join("; ", tensors.Take(listed)) + (tensors.Count > listed ? $"; and {tensors.Count - listed} more tensors" : "") + ".");
    }

    /// <summary>The text line for a non-finite <paramref name="loss"/>.</summary>
    internal static string NonFiniteLoss(double loss) => $"loss {NonFiniteTensor.Describe((float)loss)}: the model's outputs are not finite";

    private static int RunPretrained(PretrainedEvalSettings settings, bool json)
    {
        var console = ConsoleTables.Current();
        var report = PretrainedEvaluation.Run(settings, import =>
        {
            WarnNonFinite(import.Path, import.NonFinite);
            if (json) return;
            console.WriteLine(import.ToString());
        });
        if (json) Console.WriteLine(JsonSerializer.Serialize(report.ToJson(), ReportJson.Options));
        else Render(console, report);
        return 0;
    }

    /// <summary>The table, then the images skipped, and a line for each spec whose numbers are not finite.</summary>
    private static void Render(IAnsiConsole console, PretrainedEvalReport report)
    {
        ConsoleTables.Write(console, report.Table());
        foreach (var failure in report.Skipped) console.MarkupLine($"[yellow]skipped[/] {Markup.Escape(failure.ToString())}");
        foreach (var row in report.Rows.Where(r => r.NonFinite))
            console.MarkupLine($"[yellow]{Markup.Escape(row.Method)}[/]: {Markup.Escape(NonFiniteLoss(row.Loss))}");
    }

    private static int Run(CheckpointEvalSettings settings, bool json)
    {
        var report = CheckpointEvaluation.Run(settings);
        var (info, result) = (report.Info, report.Result);
        WarnNonFinite(settings.Checkpoint, info.NonFinite);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                checkpoint = settings.Checkpoint, model = info.Config.Name, data = settings.Data, device = report.Device, step = info.Step,
                method = report.Method, accuracy = result.Accuracy, loss = result.Loss, nonFinite = report.NonFinite,
                gmacsPerImage = result.MacsPerImage / 1e9, tokensAfterLayer = result.TokensAfterLayer, images = result.Images, seconds = result.Seconds, imagesPerSecond = result.ImagesPerSecond,
            }, ReportJson.Options));
            return 0;
        }
        var console = ConsoleTables.Current();
        console.MarkupLine($"{Markup.Escape(info.Config.Name)} [bold]{Markup.Escape(report.Method)}[/] on {settings.Data} test ({result.Images} images, " +
            $"{report.Device}): accuracy [bold]{result.Accuracy:P2}[/], loss {result.Loss:F4}, {result.MacsPerImage / 1e9:F4} GMACs per image, " +
            $"{result.ImagesPerSecond:F0} images/s");
        if (report.NonFinite) console.MarkupLine($"[yellow]{Markup.Escape(NonFiniteLoss(result.Loss))}[/]");
        return 0;
    }
}
