// Train-step benchmark: the libtorch peer configuration of docs/backends.md (28x28 grey, patch 4, C 64, depth 6,
// 4 heads, batch 128, AdamW), timed through the same Trainer.Step the CLI uses (upload, forward,
// loss, backward, clipping, AdamW), after a correctness check that the loss falls on a fixed batch.
// Also times the forward alone (no-grad tape) to split the step. Its ratio to libtorch is measured by
// `ratios`, which runs the peer alternately in the same run (docs/benchmarks.md); when Debian's torch
// is installed, peers/torch_train_step.py times the same step here too, as a second baseline.

using System.Diagnostics;
using System.Text.Json;
using IlgpuVit.Autodiff;
using IlgpuVit.Data;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Benchmarks;

public static class TrainStepBenchmark
{
    public static int Run(string deviceSpec, string? jsonPath, string model, int batch, bool quick)
    {
        using var device = Device.Open(deviceSpec);
        var config = ModelRegistry.Get(model);
        using var vit = new VisionTransformer(config, device, seed: 0);
        using var trainer = Trainer(vit, batch, batches: 4);
        var batches = trainer.Loader.Epoch(0).Select(b => b.Clone()).ToArray();

        // Correctness first: ten steps on one batch must lower its loss.
        float first = trainer.Step(batches[0], 0).Loss, last = first;
        for (int i = 0; i < 9; i++) last = trainer.Step(batches[0], 0).Loss;
        if (!(last < first)) { Console.Error.WriteLine($"train-step: loss did not fall on a fixed batch ({first} -> {last})."); return 1; }

        int k = 0;
        var step = Measure.Time(() => trainer.Step(batches[k++ % batches.Length], 0), warmup: 2, minRuns: quick ? 5 : 20, budgetSeconds: quick ? 2 : 10);
        using var images = Tensor<float>.FromArray(device, batches[0].ImageSpan, batch, config.InChannels, config.ImageSize, config.ImageSize);
        var forward = Measure.Time(() => { using var tape = Tape.NoGrad(); vit.Forward(tape, images).Value.ToArray(); }, minRuns: quick ? 5 : 20, budgetSeconds: quick ? 1 : 5);
        double? peer = quick ? null : TorchPeer(config, batch);

        double ms = step.MedianSeconds * 1e3;
        Console.WriteLine($"train-step {config.Name} batch {batch} on {device.Info.Spec} ({vit.ParameterCount:N0} parameters)");
        Console.WriteLine($"  step     median {ms,7:F1} ms  (p10 {step.P10Seconds * 1e3:F1}, p90 {step.P90Seconds * 1e3:F1}, {step.Runs} runs)  {batch / step.MedianSeconds,6:F0} images/s");
        Console.WriteLine($"  forward  median {forward.MedianSeconds * 1e3,7:F1} ms  (no-grad tape)");
        if (peer is { } p) Console.WriteLine($"  peer     Debian torch {torchVersion} same step, same run: {p:F1} ms, ratio {ms / p:F2}");
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new
            {
                model = config.Name, batch, device = device.Info.Spec, parameters = vit.ParameterCount,
                stepMs = ms, stepP10Ms = step.P10Seconds * 1e3, stepP90Ms = step.P90Seconds * 1e3, runs = step.Runs,
                imagesPerSecond = batch / step.MedianSeconds, forwardMs = forward.MedianSeconds * 1e3,
                debianTorchMs = peer,
            }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    /// <summary>A trainer of <paramref name="vit"/> (AdamW, no augmentation) on random images and labels, <paramref name="batches"/> batches of <paramref name="batch"/>.</summary>
    public static Trainer Trainer(VisionTransformer vit, int batch, int batches)
    {
        var config = vit.Config;
        var random = new Random(1);
        int count = batch * batches;
        var pixels = new byte[count * config.InChannels * config.ImageSize * config.ImageSize];
        random.NextBytes(pixels);
        var labels = Enumerable.Range(0, count).Select(i => i % config.Classes).ToArray();
        var data = new ImageDataset(pixels, labels, config.InChannels, config.ImageSize, config.ImageSize, config.Classes);
        var options = new TrainingOptions { BatchSize = batch, Epochs = 1000, CropPadding = 0, HorizontalFlip = false, WarmupEpochs = 0, LearningRate = 1e-3f };
        return new Trainer(vit, data, options, Normalization.Identity(config.InChannels));
    }

    private static string torchVersion = "";

    /// <summary>Median step time (ms) of the same model in Debian's torch, or null if it is not installed.</summary>
    private static double? TorchPeer(VitConfig c, int batch)
    {
        string script = Path.Combine("benchmarks", "peers", "torch_train_step.py");   // run from the repository root
        if (!File.Exists("/usr/bin/python3") || !File.Exists(script)) return null;
        var info = new ProcessStartInfo("/usr/bin/python3", [script, $"{c.ImageSize}", $"{c.PatchSize}", $"{c.InChannels}", $"{c.EmbedDim}",
            $"{c.Depth}", $"{c.Heads}", $"{c.MlpDim}", $"{c.Classes}", $"{batch}"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) return null;
        var result = JsonDocument.Parse(output).RootElement;
        torchVersion = result.GetProperty("torch").GetString() ?? "";
        return result.GetProperty("step_ms").GetDouble();
    }
}
