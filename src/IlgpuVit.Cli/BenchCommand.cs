// `ilgpuvit bench latency`: inference latency of a model with a reduction method, over randomly
// initialised weights and random images (latency does not depend on the values): median, p10 and
// p90 over the timed runs after warm-up, the per-image GMACs counted from the token counts that
// ran (flops.md), and those counts.

using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using IlgpuVit.Autodiff;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelRegistry.Names)}.", DefaultValueFactory = _ => "vit_small_patch16_224" };
        var batch = new Option<int>("--batch") { Description = "Images per forward.", DefaultValueFactory = _ => 8 };
        var method = new Option<string>("--method") { Description = "Reduction: none, or METHOD:RATE such as topk:rate=0.06.", DefaultValueFactory = _ => "none" };
        var runs = new Option<int>("--runs") { Description = "Timed runs after warm-up (at least 10).", DefaultValueFactory = _ => 20 };
        var json = new Option<string?>("--json") { Description = "Also write the result as JSON to this file." };
        var device = CommonOptions.Device();
        var latency = new Command("latency", "Inference latency, GMACs and token counts of a model with a reduction method.") { model, batch, method, runs, json, device };
        latency.SetAction(r => CommonOptions.Guard(() =>
            Latency(r.GetValue(model)!, r.GetValue(batch), r.GetValue(method)!, r.GetValue(runs), r.GetValue(json), r.GetValue(device)!)));
        return new Command("bench", "Benchmarks of whole models.") { latency };
    }

    private static int Latency(string modelName, int batch, string methodSpec, int runs, string? jsonPath, string deviceSpec)
    {
        if (batch < 1) throw new ArgumentException($"--batch must be at least 1, got {batch}.");
        if (runs < 10) throw new ArgumentException($"--runs must be at least 10, got {runs}.");
        var config = ModelRegistry.Get(modelName);
        using var device = Device.Open(deviceSpec);
        using var model = new VisionTransformer(config, device, seed: 0);
        ReductionMethod.Apply(model, methodSpec);
        var random = new Random(1);
        var pixels = new float[batch * config.InChannels * config.ImageSize * config.ImageSize];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
        using var images = Tensor<float>.FromArray(device, pixels, batch, config.InChannels, config.ImageSize, config.ImageSize);

        TokenState Run()
        {
            var state = new TokenState();
            using var tape = Tape.NoGrad();
            model.Forward(tape, images, state).Value.ToArray();     // the copy back waits for the device
            return state;
        }
        var first = Run();
        var counts = first.TokensAfterLayer;
        for (int i = 0; i < 2; i++) Run();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        double At(double q) => times[(int)Math.Round(q * (runs - 1))];
        var before = counts.Prepend(config.Tokens).Take(config.Depth).ToArray();
        double gmacs = Flops.Macs(config, before, counts, first.MethodMacs) / 1e9, baseGmacs = Flops.Macs(config) / 1e9;
        var result = new
        {
            model = config.Name, batch, method = methodSpec, device = device.Info.Spec, runs,
            medianMs = At(0.5), p10Ms = At(0.1), p90Ms = At(0.9),
            gmacsPerImage = gmacs, flopsChangePercent = 100 * (gmacs / baseGmacs - 1), tokensAfterLayer = counts,
        };
        if (jsonPath is not null) File.WriteAllText(jsonPath, JsonSerializer.Serialize(result, CommonOptions.JsonStyle));
        AnsiConsole.MarkupLine($"{config.Name} batch {batch} [bold]{Markup.Escape(methodSpec)}[/] on {device.Info.Spec}: median {At(0.5):F1} ms " +
            $"(p10 {At(0.1):F1}, p90 {At(0.9):F1}, {runs} runs), {gmacs:F2} GMACs per image ({result.flopsChangePercent:+0.0;-0.0}%), " +
            $"tokens after each block: {string.Join(" ", counts)}");
        return 0;
    }
}
