// `onnx`: IlgpuVit against ONNX Runtime (CPU execution provider) on the same model, exported by
// IlgpuVit.Onnx with the same token reduction (docs/onnx.md), the second peer beside libtorch's `ratios`.
// Both sides get the same threads (ONNX Runtime's intra-op pool = IlgpuVit's CPU workers, one per core;
// inter-op 1, sequential). Correctness first: the exported model's logits must match IlgpuVit's within
// 1e-4 of the largest before anything is timed. Then the sides alternate (ONNX Runtime, IlgpuVit, ...)
// for `--rounds`, each timing `--runs` forwards after the same warm-up, and the figure reported is the
// median of the rounds' ratios IlgpuVit / ONNX Runtime (below 1: IlgpuVit is faster).

using System.Text.Json;
using IlgpuVit.Autodiff;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Onnx;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace IlgpuVit.Benchmarks;

/// <summary>One round: each side's median milliseconds per forward.</summary>
public sealed record OnnxRound(double IlgpuVitMs, double OnnxRuntimeMs);

public static class OnnxRatios
{
    public static int Run(string model, int batch, string method, int rounds, int runs, string? jsonPath)
    {
        if (rounds < 2) { Console.Error.WriteLine("onnx: --rounds must be at least 2 (the sides alternate)."); return 2; }
        var config = ModelRegistry.Get(model);
        using var device = Device.Open("cpu");
        using var vit = new VisionTransformer(config, device, seed: 0);
        ReductionMethod.Apply(vit, method);
        var random = new Random(1);
        var pixels = new float[batch * config.InChannels * config.ImageSize * config.ImageSize];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
        using var images = IlgpuVit.Runtime.Tensor<float>.FromArray(device, pixels, batch, config.InChannels, config.ImageSize, config.ImageSize);

        int threads = Device.CpuWorkers;
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(OnnxExporter.ToBytes(vit), options);
        var input = new List<NamedOnnxValue> { NamedOnnxValue.CreateFromTensor(OnnxExporter.InputName, new DenseTensor<float>(pixels, [batch, config.InChannels, config.ImageSize, config.ImageSize])) };
        float[] OnnxLogits()
        {
            using var results = session.Run(input);
            return results.First().AsTensor<float>().ToArray();
        }

        // Correctness before timing.
        float[] expected;
        using (var tape = Tape.NoGrad()) expected = vit.Forward(tape, images).Value.ToArray();
        var actual = OnnxLogits();
        float scale = expected.Max(MathF.Abs), error = expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max();
        if (!(error <= 1e-4f * scale))
        {
            Console.Error.WriteLine($"onnx: the exported model's logits differ from IlgpuVit's by {error} (largest logit {scale}); not timing.");
            return 1;
        }

        Console.WriteLine($"{config.Name} batch {batch}, method {method}: IlgpuVit on {device.Info.Spec} against ONNX Runtime {OrtEnv.Instance().GetVersionString()} " +
            $"(CPU, {threads} intra-op threads); logits agree (max |Δ| {error:G2}); {rounds} rounds of {runs} runs, alternating");
        var done = new List<OnnxRound>();
        for (int r = 0; r < rounds; r++)
        {
            double onnxMs = Measure.Time(() => OnnxLogits(), warmup: 3, minRuns: runs, budgetSeconds: 0).MedianSeconds * 1e3;
            double oursMs = Latency.Compare(vit, images, [method], runs, warmup: 3)[0].MedianMs;
            done.Add(new OnnxRound(oursMs, onnxMs));
            Console.WriteLine($"  round {r + 1}: IlgpuVit {oursMs,8:F2} ms   ONNX Runtime {onnxMs,8:F2} ms   ratio {oursMs / onnxMs:F2}");
        }
        double ratio = Median(done.Select(x => x.IlgpuVitMs / x.OnnxRuntimeMs));
        Console.WriteLine($"{config.Name} batch {batch} {method}: IlgpuVit {Median(done.Select(x => x.IlgpuVitMs)):F2} ms, ONNX Runtime " +
            $"{Median(done.Select(x => x.OnnxRuntimeMs)):F2} ms, ratio IlgpuVit / ONNX Runtime {ratio:F2} (median of the rounds)");
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new { model, batch, method, threads, onnxRuntime = OrtEnv.Instance().GetVersionString(), rounds = done,
                ratio, maxAbsError = error, date = DateTime.UtcNow }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
        return 0;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]);
    }
}
