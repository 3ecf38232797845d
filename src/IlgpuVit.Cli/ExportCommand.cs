// `ilgpuvit export onnx`: a checkpoint (its own configuration and, by default, the method it was trained
// with) or pretrained weights with --arch, optionally reduced by --method, written as an ONNX model by
// IlgpuVit.Onnx (docs/onnx.md). The file is written through a temporary file renamed over the target,
// and an existing file is replaced only with --force, so nothing a user saved is ever half-written or
// lost by mistake. Methods ONNX cannot express are refused by name before anything is written.

using System.CommandLine;
using IlgpuVit.IO;
using IlgpuVit.Nn;
using IlgpuVit.Onnx;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Cli;

internal static class ExportCommand
{
    public static Command Create()
    {
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A checkpoint written by `ilgpuvit train` (it carries its architecture and method)." };
        var weights = new Option<string?>("--weights") { Description = "Pretrained weights (safetensors, timm or torchvision names); needs --arch." };
        var arch = new Option<string?>("--arch") { Description = $"With --weights: the architecture, one of {string.Join(", ", ModelRegistry.Names)}." };
        var method = new Option<string?>("--method") { Description = "Token reduction to export: none, or topk, topk-vpa, evit or etps with a rate, e.g. topk-vpa:rate=0.06 (default: the checkpoint's method, else none)." };
        var output = new Option<string>("--out", "-o") { Description = "The ONNX file to write.", Required = true };
        var force = new Option<bool>("--force") { Description = "Replace --out if it exists." };
        var kept = new Option<bool>("--kept-tokens") { Description = "Also output each reducing block's kept token indices (kept.{layer}, int64), for debugging." };
        var onnx = new Command("onnx", "Write the model (with its token reduction) as an ONNX model (opset 17) that ONNX Runtime runs.")
        {
            checkpoint, weights, arch, method, output, force, kept,
        };
        onnx.SetAction(r => CommonOptions.Guard(() => Run(r.GetValue(checkpoint), r.GetValue(weights), r.GetValue(arch), r.GetValue(method),
            r.GetValue(output)!, r.GetValue(force), r.GetValue(kept))));
        return new Command("export", "Export a model to another format.") { onnx };
    }

    private static int Run(string? checkpointPath, string? weightsPath, string? arch, string? method, string output, bool force, bool keptTokens)
    {
        if ((checkpointPath is null) == (weightsPath is null))
            throw new ArgumentException("Give exactly one of --checkpoint FILE (a training checkpoint) or --weights FILE --arch NAME (pretrained weights).");
        if (checkpointPath is not null && arch is not null)
            throw new ArgumentException("--arch goes with --weights; a checkpoint carries its own architecture.");
        if (weightsPath is not null && arch is null)
            throw new ArgumentException($"--weights needs --arch, one of {string.Join(", ", ModelRegistry.Names)}.");
        if (!force && File.Exists(output))
            throw new ArgumentException($"{output} exists; pass --force to replace it.");

        var info = checkpointPath is not null ? TrainingCheckpoint.ReadInfo(checkpointPath) : null;
        var config = info?.Config ?? ModelRegistry.Get(arch!);
        string spec = method ?? info?.Method ?? "none";
        ReductionMethod.Parse(spec, config.Depth);                         // a bad spec fails before any weight is read
        using var device = Device.Open("cpu");
        using var model = new VisionTransformer(config, device);
        if (checkpointPath is not null) TrainingCheckpoint.Load(checkpointPath, model);
        else WeightImporter.Import(weightsPath!, model);
        ReductionMethod.Apply(model, spec);
        OnnxExporter.Save(model, output, overwrite: force, new OnnxExportOptions(KeptTokens: keptTokens));
        Console.WriteLine($"Wrote {output}: {config.Name}, method {spec}, opset {OnnxExporter.Opset}, input '{OnnxExporter.InputName}' " +
            $"(batch, {config.InChannels}, {config.ImageSize}, {config.ImageSize}), output '{OnnxExporter.OutputName}' (batch, {config.Classes}).");
        return 0;
    }
}
