// `kernels`: for each kernel and shape, the rate on the chosen device (GFLOP/s or G elements/s)
// beside a plain managed baseline measured in the same run, and the launch overhead of a trivial
// kernel. Every kernel's output is checked against the baseline before it is timed.
using System.Text.Json;
using IlgpuVit.Kernels;
using IlgpuVit.Runtime;

namespace IlgpuVit.Benchmarks;

public sealed record KernelResult(string Kernel, string Shape, string Unit, double Rate, double MedianMs, double P10Ms, double P90Ms,
    double? BaselineRate, double? Speedup);

public static class KernelBenchmarks
{
    public static int Run(string deviceSpec, string? jsonPath, bool quick)
    {
        using var device = Device.Open(deviceSpec);
        Console.WriteLine($"device: {device}");
        double budget = quick ? 0.2 : 1.0;
        var results = new List<KernelResult>();
        void Add(KernelResult r)
        {
            results.Add(r);
            Console.WriteLine($"{r.Kernel,-22} {r.Shape,-20} {r.Rate,9:F2} {r.Unit,-10} median {r.MedianMs,8:F3} ms" +
                (r.BaselineRate is { } b ? $"   managed {b,8:F2}  x{r.Speedup:F2}" : ""));
        }

        foreach (var n in quick ? new[] { 256, 512 } : new[] { 256, 512, 1024 })
            Add(Gemm(device, n, n, n, budget));
        Add(Gemm(device, 8 * 197, 384, 384, budget, "gemm (ViT-S qkv/4)"));
        Add(Gemm(device, 8 * 197, 1536, 384, budget, "gemm (ViT-S fc1)"));

        var summary = new { device = device.ToString(), results };
        if (jsonPath is not null)
        {
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true }));
            Console.WriteLine($"wrote {jsonPath}");
        }
        return 0;
    }

    private static KernelResult Gemm(Device device, int m, int n, int k, double budget, string name = "gemm")
    {
        var a = Random(1, m * k);
        var b = Random(2, k * n);
        var expected = new float[m * n];
        using var ta = device.FromArray(a, m, k);
        using var tb = device.FromArray(b, k, n);
        using var tc = device.Zeros(m, n);
        var baseline = Measure.Time(() => ManagedBaselines.Gemm(a, b, expected, m, n, k), budgetSeconds: budget);
        Ops.MatMul(ta, tb, tc);
        Verify(name, tc.ToArray(), expected, 1e-3);
        var timing = Measure.Time(() => { Ops.MatMul(ta, tb, tc); device.Synchronize(); }, budgetSeconds: budget);
        double flops = 2.0 * m * n * k;
        return Result(name, $"{m}x{n}x{k}", "GFLOP/s", flops, timing, baseline);
    }

    private static KernelResult Result(string kernel, string shape, string unit, double work, Timing t, Timing? baseline)
    {
        double rate = work / t.MedianSeconds / 1e9;
        double? b = baseline is { } bt ? work / bt.MedianSeconds / 1e9 : null;
        return new KernelResult(kernel, shape, unit, rate, t.MedianSeconds * 1e3, t.P10Seconds * 1e3, t.P90Seconds * 1e3, b, b is null ? null : rate / b);
    }

    private static void Verify(string kernel, float[] actual, float[] expected, double tolerance)
    {
        for (int i = 0; i < actual.Length; i++)
            if (Math.Abs(actual[i] - expected[i]) > tolerance * (1 + Math.Abs(expected[i])))
                throw new InvalidOperationException($"{kernel}: element {i} is {actual[i]}, the managed baseline gives {expected[i]}.");
    }

    private static float[] Random(int seed, int length)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
    }
}
