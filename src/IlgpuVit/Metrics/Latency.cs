// Inference latency of a model: forward passes on a no-grad tape, each timed until its logits are back on
// the host (the copy waits for the device), after warm-up runs that compile kernels, fill the tensor pool
// and let the JIT finish: .NET runs a method's first calls unoptimised (tier 0) and recompiles it in the
// background once its calls stop bringing new code, so warm-up goes on until no method has been compiled
// for a while. Without that, 30 timed forwards caught a reduction method's host code (a few calls per
// block) at tier 0 for part of them: `tome:r=4`'s latency cut measured 0.53-0.62 of its FLOPs cut against
// 0.67-0.71 with 100 (docs/benchmarks.md). Reports the median and the 10th and 90th percentiles, since
// shared machines are noisy, with the FLOPs counted from the token counts that ran. Several reduction specs
// of one model are compared with their timed runs interleaved (run i of every spec, then run i + 1), so a
// load that drifts during the measurement shifts every spec alike instead of biasing the last ones.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;

namespace IlgpuVit.Metrics;

/// <summary>Latency percentiles of repeated forwards, with what ran.</summary>
/// <param name="Method">The reduction spec measured ("none" for the unpruned model).</param>
/// <param name="MedianMs">Median milliseconds per forward.</param>
/// <param name="P10Ms">10th percentile.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="Runs">Timed runs.</param>
/// <param name="MacsPerImage">Multiply-accumulates per image (docs/flops.md), method products included.</param>
/// <param name="TokensAfterLayer">Tokens each block handed on.</param>
public sealed record LatencyResult(string Method, double MedianMs, double P10Ms, double P90Ms, int Runs, double MacsPerImage,
    IReadOnlyList<int> TokensAfterLayer);

/// <summary>Measures inference latency.</summary>
public static class Latency
{
    /// <summary>
    /// Times <paramref name="runs"/> forwards of <paramref name="model"/> on <paramref name="images"/> under each reduction
    /// spec of <paramref name="specs"/> (see <see cref="ReductionMethod"/>), after <paramref name="warmup"/> untimed ones
    /// per spec and then rounds of all specs until the JIT has finished with their code (300 ms without a compiled method,
    /// at most 3 s), interleaving the specs' runs. The model's reducers are restored afterwards.
    /// </summary>
    /// <example><code>var r = Latency.Compare(model, images, ["none", "tome:r=8"]); Console.WriteLine($"{r[1].MedianMs / r[0].MedianMs - 1:P1}");</code></example>
    /// <exception cref="FormatException">A spec is malformed (raised before anything runs).</exception>
    /// <exception cref="ArgumentOutOfRangeException">Fewer than one run, or negative warm-up.</exception>
    public static IReadOnlyList<LatencyResult> Compare(VisionTransformer model, Tensor<float> images, IReadOnlyList<string> specs, int runs = 20,
        int warmup = 2)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmup);
        var original = model.Reducers;
        var reducers = specs.Select(spec =>
        {
            ReductionMethod.Apply(model, spec);
            return model.Reducers;
        }).ToArray();
        try
        {
            var first = new TokenState[specs.Count];
            for (int s = 0; s < specs.Count; s++)
            {
                model.Reducers = reducers[s];
                first[s] = Forward(model, images);
                for (int i = 1; i < warmup; i++) Forward(model, images);
            }
            UntilJitSettles(() =>
            {
                for (int s = 0; s < specs.Count; s++)
                {
                    model.Reducers = reducers[s];
                    Forward(model, images);
                }
            });
            var times = new double[specs.Count][];
            for (int s = 0; s < specs.Count; s++) times[s] = new double[runs];
            for (int i = 0; i < runs; i++)
                for (int s = 0; s < specs.Count; s++)
                {
                    model.Reducers = reducers[s];
                    long start = Stopwatch.GetTimestamp();
                    Forward(model, images);
                    times[s][i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                }
            return specs.Select((spec, s) => new LatencyResult(spec, Quantile(times[s], 0.5), Quantile(times[s], 0.1), Quantile(times[s], 0.9), runs,
                Flops.Macs(model.Config, first[s]), first[s].TokensAfterLayer)).ToArray();
        }
        finally
        {
            model.Reducers = original;
        }
    }

    /// <summary>
    /// Runs <paramref name="round"/> until the JIT has compiled nothing for 300 ms (tiered compilation waits 100 ms of
    /// quiet, then recompiles in the background), at most 3 s (a test run compiles without pause).
    /// </summary>
    private static void UntilJitSettles(Action round)
    {
        var clock = Stopwatch.StartNew();
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        var quietSince = clock.Elapsed;
        while (clock.Elapsed.TotalSeconds < 3)
        {
            round();
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled) (compiled, quietSince) = (now, clock.Elapsed);
            else if ((clock.Elapsed - quietSince).TotalMilliseconds >= 300) return;
        }
    }

    /// <summary>One no-grad forward of <paramref name="model"/> that waits for the device; returns what its reducers did.</summary>
    public static TokenState Forward(VisionTransformer model, Tensor<float> images)
    {
        var state = new TokenState();
        using var tape = Tape.NoGrad();
        model.Forward(tape, images, state).Value.ToArray();     // the copy back waits for the device
        return state;
    }

    /// <summary>The nearest-rank quantile <paramref name="q"/> of <paramref name="values"/> (sorted in place).</summary>
    public static double Quantile(double[] values, double q)
    {
        Array.Sort(values);
        return values[(int)Math.Round(q * (values.Length - 1))];
    }
}
