// Inference latency of a model: forward passes on a no-grad tape, each timed until its logits are
// back on the host (the copy waits for the device), after warm-up runs that compile kernels and fill
// the tensor pool. Reports the median and the 10th and 90th percentiles, since shared machines are
// noisy, with the FLOPs counted from the token counts that ran.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;

namespace IlgpuVit.Metrics;

/// <summary>Latency percentiles of repeated forwards, with what ran.</summary>
/// <param name="MedianMs">Median milliseconds per forward.</param>
/// <param name="P10Ms">10th percentile.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="MacsPerImage">Multiply-accumulates per image (flops.md), method products included.</param>
/// <param name="TokensAfterLayer">Tokens each block handed on.</param>
public sealed record LatencyResult(double MedianMs, double P10Ms, double P90Ms, int Runs, double MacsPerImage, IReadOnlyList<int> TokensAfterLayer);

/// <summary>Measures inference latency.</summary>
public static class Latency
{
    /// <summary>
    /// Times <paramref name="runs"/> forwards of <paramref name="model"/> (with its reducers) on <paramref name="images"/>
    /// after <paramref name="warmup"/> untimed ones.
    /// </summary>
    /// <example><code>var r = Latency.Measure(model, images, runs: 20); Console.WriteLine($"{r.MedianMs:F1} ms");</code></example>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one run, or negative warm-up.</exception>
    public static LatencyResult Measure(VisionTransformer model, Tensor<float> images, int runs = 20, int warmup = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        TokenState Run()
        {
            var state = new TokenState();
            using var tape = Tape.NoGrad();
            model.Forward(tape, images, state).Value.ToArray();
            return state;
        }
        var first = Run();
        for (int i = 1; i < warmup; i++) Run();
        var times = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Run();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        Array.Sort(times);
        double At(double q) => times[(int)Math.Round(q * (runs - 1))];
        return new LatencyResult(At(0.5), At(0.1), At(0.9), runs, Flops.Macs(model.Config, first), first.TokensAfterLayer);
    }
}
