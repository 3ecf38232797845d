// `profile`: where one inference forward spends its time, per kernel family, against what the family
// does and this machine's ceilings (docs/benchmarks.md). Every launcher is observed as it starts
// (Ops.ObserveLaunches): the device is synchronised there, and the time since the previous launch is
// that launch's (its kernel plus the host work before the next one). Memory-bound families are read
// against the bytes their tensors hold (each tensor counted once per launch, a lower bound on the
// traffic) and a measured copy bandwidth; GEMM against its FLOPs (2 x the linear layers' MACs of
// docs/flops.md) and the measured FMA peak. The observed forward is compared with an unobserved one
// so the cost of the synchronisation is visible.

using System.Diagnostics;
using System.Text.Json;
using IlgpuVit.Kernels;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;

namespace IlgpuVit.Benchmarks;

/// <summary>One kernel family's share of a forward.</summary>
/// <param name="Op">The launcher's name ("Gemm", "Softmax", "Map" for the elementwise family, ...).</param>
/// <param name="Launches">Launches per forward.</param>
/// <param name="Ms">Milliseconds per forward (median over the runs).</param>
/// <param name="SharePercent">Ms as a percentage of the observed forward.</param>
/// <param name="Megabytes">Bytes its tensors hold, summed over its launches, per forward.</param>
/// <param name="GbPerSecond">Megabytes / Ms.</param>
/// <param name="GflopPerSecond">For GEMM only: its FLOPs / Ms.</param>
public sealed record OpShare(string Op, int Launches, double Ms, double SharePercent, double Megabytes, double GbPerSecond, double? GflopPerSecond);

public static class OpProfile
{
    private const string Host = "(host, before the first launch)";

    public static int Run(string model, int batch, string method, int runs, string? jsonPath)
    {
        using var device = Device.Open("cpu");
        var config = ModelRegistry.Get(model);
        using var vit = new VisionTransformer(config, device, seed: 0);
        ReductionMethod.Apply(vit, method);
        var random = new Random(1);
        var pixels = new float[batch * config.InChannels * config.ImageSize * config.ImageSize];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
        using var images = Tensor<float>.FromArray(device, pixels, batch, config.InChannels, config.ImageSize, config.ImageSize);
        for (int i = 0; i < 3; i++) Latency.Forward(vit, images);

        // Alternate unobserved and observed forwards, so both see the same load.
        var plain = new double[runs];
        var observed = new double[runs];
        var perRun = new List<Dictionary<string, (int Launches, double Ms, double Bytes)>>();
        for (int r = 0; r < runs; r++)
        {
            long start = Stopwatch.GetTimestamp();
            Latency.Forward(vit, images);
            plain[r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var (totalMs, ops) = Observed(vit, images, device);
            observed[r] = totalMs;
            perRun.Add(ops);
        }

        double gemmFlops = 2 * batch * LinearMacs(config, vit, images);
        double observedMs = Latency.Quantile(observed, 0.5);
        var shares = perRun.SelectMany(d => d.Keys).Distinct().Select(op =>
        {
            var samples = perRun.Select(d => d.TryGetValue(op, out var v) ? v : default).ToArray();
            double ms = Latency.Quantile(samples.Select(s => s.Ms).ToArray(), 0.5);
            double mb = samples[0].Bytes / 1e6;
            return new OpShare(op, samples[0].Launches, ms, 100 * ms / observedMs, mb, mb / ms, op == "Gemm" ? gemmFlops / ms / 1e6 : null);
        }).OrderByDescending(s => s.Ms).ToArray();

        double peak = ManagedBaselines.FmaPeakGflops(), bandwidth = CopyBandwidthGbPerSecond();
        Console.WriteLine($"{config.Name} batch {batch} {method} on {device.Info.Spec}: forward {Latency.Quantile(plain, 0.5):F1} ms unobserved, " +
            $"{observedMs:F1} ms observed (medians of {runs}); ceilings: FMA {peak:F0} GFLOP/s, copy {bandwidth:F1} GB/s");
        Console.WriteLine($"{"family",-32} {"launches",8} {"ms",8} {"share",7} {"MB",9} {"GB/s",7} {"GFLOP/s",8}");
        foreach (var s in shares)
            Console.WriteLine($"{s.Op,-32} {s.Launches,8} {s.Ms,8:F2} {s.SharePercent,6:F1}% {s.Megabytes,9:F1} {s.GbPerSecond,7:F1} {(s.GflopPerSecond is { } g ? $"{g,8:F0}" : ""),8}");
        if (jsonPath is not null)
            File.WriteAllText(jsonPath, JsonSerializer.Serialize(new
            {
                model = config.Name, batch, method, device = device.Info.Spec, runs, forwardMs = Latency.Quantile(plain, 0.5), observedMs,
                fmaPeakGflops = peak, copyGbPerSecond = bandwidth, families = shares,
            }, new JsonSerializerOptions { WriteIndented = true }));
        return 0;
    }

    /// <summary>One observed forward: milliseconds in all, and per family its launches, milliseconds and bytes.</summary>
    private static (double, Dictionary<string, (int, double, double)>) Observed(VisionTransformer vit, Tensor<float> images, Device device)
    {
        var ops = new Dictionary<string, (int Launches, double Ms, double Bytes)>();
        string current = Host;
        long start = Stopwatch.GetTimestamp(), last = start;
        void Close(string next, double bytes)
        {
            long now = Stopwatch.GetTimestamp();
            var (n, ms, b) = ops.GetValueOrDefault(current);
            ops[current] = (n, ms + Stopwatch.GetElapsedTime(last, now).TotalMilliseconds, b);
            var (n2, ms2, b2) = ops.GetValueOrDefault(next);
            ops[next] = (n2 + 1, ms2, b2 + bytes);
            (current, last) = (next, now);
        }
        using (Ops.ObserveLaunches((op, dev, tensors) =>
        {
            dev.Synchronize();
            double bytes = 0;
            foreach (var t in tensors) if (t is not null) bytes += 4.0 * t.Shape.Length;
            Close(op, bytes);
        }))
            Latency.Forward(vit, images);
        long end = Stopwatch.GetTimestamp();
        var (launches, total, held) = ops.GetValueOrDefault(current);
        ops[current] = (launches, total + Stopwatch.GetElapsedTime(last, end).TotalMilliseconds, held);
        ops.Remove(Host, out var host);
        if (host.Ms > 0) ops[Host] = (0, host.Ms, 0);
        return (Stopwatch.GetElapsedTime(start, end).TotalMilliseconds, ops);
    }

    /// <summary>MACs per image of the layers GEMM runs: everything but the attention products (docs/flops.md), for the tokens that ran.</summary>
    private static double LinearMacs(VitConfig config, VisionTransformer vit, Tensor<float> images)
    {
        var state = Latency.Forward(vit, images);
        double attention = state.TokensAfterLayer.Select((_, layer) =>
        {
            double tokens = layer == 0 ? config.Tokens : state.TokensAfterLayer[layer - 1];
            return 2 * tokens * tokens * config.EmbedDim;
        }).Sum();
        return Flops.Macs(config, state) - attention;
    }

    /// <summary>A ceiling for memory-bound kernels: the best of five parallel copies of 64 MB.</summary>
    private static double CopyBandwidthGbPerSecond()
    {
        var from = new float[16 << 20];
        var to = new float[from.Length];
        int chunks = Environment.ProcessorCount * 4, chunk = from.Length / chunks;
        double best = 0;
        for (int trial = 0; trial < 5; trial++)
        {
            long start = Stopwatch.GetTimestamp();
            Parallel.For(0, chunks, c => from.AsSpan(c * chunk, chunk).CopyTo(to.AsSpan(c * chunk, chunk)));
            best = Math.Max(best, 2.0 * 4 * from.Length / Stopwatch.GetElapsedTime(start).TotalSeconds / 1e9);   // read + write
        }
        return best;
    }
}
