// The timed part of the device check, on the device alone: GEMM at square and ViT-L shapes,
// softmax and LayerNorm rows, ViT-S/B/L inference at batch 64 unpruned and under two reduction specs
// (LatencyBenchmark: the specs' timed runs interleaved, FLOPs counted from what ran), and a ViT-S
// training step at batch 64. Quick mode keeps the same parts at CPU-sized shapes. Every timing
// synchronises the device, discards warm-up runs and reports the median.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Kernels;
using IlgpuVit.Nn;
using IlgpuVit.Runtime;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments.Devices;

/// <summary>A GEMM timing: C (M, N) = A (M, K) B (K, N).</summary>
public sealed record GemmTiming(int M, int N, int K, double MedianMs, double Gflops);

/// <summary>A row-kernel timing.</summary>
public sealed record RowTiming(string Kernel, int Rows, int Width, double MedianMs, double GigabytesPerSecond);

/// <summary>An inference timing of one model under one spec.</summary>
public sealed record InferenceTiming(string Model, string Spec, int Batch, double MedianMs, double ImagesPerSecond, double GmacsPerImage,
    double FlopsChangePercent, double LatencyChangePercent);

/// <summary>A training-step timing (forward, loss, backward, clipping, AdamW).</summary>
public sealed record TrainStepTiming(string Model, int Batch, double MedianMs, double ImagesPerSecond);

/// <summary>Every timing of a check.</summary>
public sealed record DeviceTimingReport(IReadOnlyList<GemmTiming> Gemm, IReadOnlyList<RowTiming> Rows, IReadOnlyList<InferenceTiming> Inference,
    TrainStepTiming TrainStep);

/// <summary>Times the device.</summary>
public static class DeviceTimings
{
    /// <summary>The reduction specs timed beside the unpruned models.</summary>
    public static readonly string[] Specs = ["topk-vpa:rate=0.06", "tome:r=8"];

    /// <summary>Times every part on <paramref name="device"/>.</summary>
    public static DeviceTimingReport Run(Device device, bool quick, Action<string>? progress)
    {
        int runs = quick ? 3 : 10;
        var gemm = (quick ? new[] { (256, 256, 256) } : [(1024, 1024, 1024), (4096, 4096, 4096), (12608, 3072, 1024), (12608, 1024, 1024),
                (12608, 4096, 1024), (12608, 1024, 4096)])
            .Select(s => Gemm(device, s.Item1, s.Item2, s.Item3, runs)).ToArray();
        foreach (var g in gemm) progress?.Invoke($"gemm {g.M}x{g.N}x{g.K}: {g.MedianMs:F3} ms, {g.Gflops:F0} GFLOP/s");

        var rows = new[] { Softmax(device, quick ? 1024 : 64 * 16 * 197, quick ? 65 : 197, runs), LayerNorm(device, quick ? 1024 : 12608, quick ? 64 : 1024, runs) };
        foreach (var r in rows) progress?.Invoke($"{r.Kernel} {r.Rows} rows of {r.Width}: {r.MedianMs:F3} ms, {r.GigabytesPerSecond:F0} GB/s");

        var inference = new List<InferenceTiming>();
        int batch = quick ? 8 : 64;
        foreach (var model in quick ? new[] { "vit_micro_patch4_28" } : ["vit_small_patch16_224", "vit_base_patch16_224", "vit_large_patch16_224"])
        {
            using var bench = new LatencyBenchmark(ModelRegistry.Get(model), device, batch, Math.Max(runs, LatencyBenchmark.MinimumRuns));
            var results = bench.Measure(Specs.Prepend("none").ToArray(), profile: false);
            foreach (var r in results)
            {
                var timing = new InferenceTiming(model, r.Method, batch, r.MedianMs, batch / (r.MedianMs / 1e3), r.GmacsPerImage, r.FlopsChangePercent,
                    100 * (r.MedianMs / results[0].MedianMs - 1));
                inference.Add(timing);
                progress?.Invoke($"{model} batch {batch} {r.Method}: {r.MedianMs:F1} ms, {timing.ImagesPerSecond:F0} images/s, " +
                                 $"FLOPs {r.FlopsChangePercent:+0.0;-0.0;0}%, latency {timing.LatencyChangePercent:+0.0;-0.0;0}%");
            }
        }

        var step = TrainStep(device, quick ? "vit_micro_patch4_28" : "vit_small_patch16_224", batch, runs);
        progress?.Invoke($"train step {step.Model} batch {step.Batch}: {step.MedianMs:F1} ms, {step.ImagesPerSecond:F0} images/s");
        return new DeviceTimingReport(gemm, rows, inference, step);
    }

    /// <summary>Median milliseconds of <paramref name="action"/> after two warm-up runs, the device synchronised around each.</summary>
    public static double MedianMs(Device device, Action action, int runs)
    {
        action();
        action();
        device.Synchronize();
        var samples = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            device.Synchronize();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return Metrics.Latency.Quantile(samples, 0.5);
    }

    private static GemmTiming Gemm(Device device, int m, int n, int k, int runs)
    {
        using var inputs = new CaseInputs(device);
        var (a, b, c) = (inputs.Uniform(1, 1, m, k), inputs.Uniform(2, 1, k, n), inputs.Zeros(m, n));
        double ms = MedianMs(device, () => Ops.MatMul(a, b, c), runs);
        return new GemmTiming(m, n, k, ms, 2.0 * m * n * k / (ms / 1e3) / 1e9);
    }

    private static RowTiming Softmax(Device device, int rows, int width, int runs)
    {
        using var inputs = new CaseInputs(device);
        var (x, y) = (inputs.Uniform(1, 4, rows, width), inputs.Zeros(rows, width));
        double ms = MedianMs(device, () => Ops.Softmax(x, y), runs);
        return new RowTiming("softmax", rows, width, ms, 2.0 * rows * width * sizeof(float) / (ms / 1e3) / 1e9);
    }

    private static RowTiming LayerNorm(Device device, int rows, int width, int runs)
    {
        using var inputs = new CaseInputs(device);
        var (x, gamma, beta, y) = (inputs.Uniform(1, 2, rows, width), inputs.Uniform(2, 1, width), inputs.Uniform(3, 1, width), inputs.Zeros(rows, width));
        double ms = MedianMs(device, () => Ops.LayerNorm(x, gamma, beta, y), runs);
        return new RowTiming("layernorm", rows, width, ms, 2.0 * rows * width * sizeof(float) / (ms / 1e3) / 1e9);
    }

    /// <summary>Forward, loss, backward and an AdamW update on one resident batch (no data loading).</summary>
    private static TrainStepTiming TrainStep(Device device, string name, int batch, int runs)
    {
        var config = ModelRegistry.Get(name);
        using var model = new VisionTransformer(config, device, seed: 0);
        using var optimizer = new AdamW(model.Parameters());
        using var inputs = new CaseInputs(device);
        var images = inputs.Uniform(1, 1, batch, config.InChannels, config.ImageSize, config.ImageSize);
        var labels = inputs.Ints(2, config.Classes, batch);
        double ms = MedianMs(device, () =>
        {
            optimizer.ZeroGrad();
            using (var tape = new Tape())
                tape.Backward(tape.CrossEntropy(model.Forward(tape, images), labels, 0.1f));
            GradientClipping.ClipByGlobalNorm(optimizer.Parameters, 1f);
            optimizer.Step(1e-4f);
        }, runs);
        return new TrainStepTiming(name, batch, ms, batch / (ms / 1e3));
    }
}
