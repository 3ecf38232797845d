// The one latency measurement behind `ilgpuvit bench latency`, single and --sweep alike: a model with
// random weights and a batch of random images (latency does not depend on the values), built once;
// each spec is applied to it and measured by Metrics.Latency.Compare (one run to count tokens, two
// more as warm-up, then `runs` timed runs interleaved across specs: median, p10, p90). GMACs per
// image are counted from the token counts that ran plus the method's own products (docs/flops.md). With profiling, further runs time each block's reduction step
// with the accelerator synchronised around it, apart from the timed runs since the waits perturb them.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;

namespace IlgpuVit.Experiments;

/// <summary>Reduction cost of one forward (medians over the profiled runs).</summary>
/// <param name="ReductionMs">Time spent inside the reducers of all blocks per forward.</param>
/// <param name="ForwardMs">The profiled forward's time (synchronised around each reduction).</param>
/// <param name="SharePercent">ReductionMs as a percentage of ForwardMs.</param>
public sealed record ReductionProfile(double ReductionMs, double ForwardMs, double SharePercent);

/// <summary>One latency measurement.</summary>
public sealed record LatencyMeasurement(
    string Model, int Batch, string Method, string Device, int Runs,
    double MedianMs, double P10Ms, double P90Ms,
    double GmacsPerImage, double FlopsChangePercent, IReadOnlyList<int> TokensAfterLayer,
    ReductionProfile? Profile);

/// <summary>A model and a batch of images, measured under any number of reduction specs.</summary>
public sealed class LatencyBenchmark : IDisposable
{
    private const int WarmupRuns = 2;

    /// <summary>The fewest timed runs whose p10 and p90 mean something.</summary>
    public const int MinimumRuns = 10;
    private readonly VisionTransformer _model;
    private readonly Tensor<float> _images;

    /// <summary>A randomly initialised <paramref name="config"/> on <paramref name="device"/> with <paramref name="batch"/> random images.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The batch is below 1 or the runs below <see cref="MinimumRuns"/> (BenchCommand checks the options first, naming them).</exception>
    public LatencyBenchmark(VitConfig config, Device device, int batch, int runs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(runs, MinimumRuns);
        (Config, Device, Batch, Runs) = (config, device, batch, runs);
        _model = new VisionTransformer(config, device, seed: 0);
        var random = new Random(1);
        var pixels = new float[batch * config.InChannels * config.ImageSize * config.ImageSize];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)(random.NextDouble() * 2 - 1);
        _images = Tensor<float>.FromArray(device, pixels, batch, config.InChannels, config.ImageSize, config.ImageSize);
    }

    /// <summary>The model measured.</summary>
    public VitConfig Config { get; }

    /// <summary>Where it runs.</summary>
    public Device Device { get; }

    /// <summary>Images per forward.</summary>
    public int Batch { get; }

    /// <summary>Timed runs per measurement (and profiled runs, when profiling).</summary>
    public int Runs { get; }

    /// <summary>Latency, GMACs and token counts under <paramref name="spec"/>, plus the reduction's cost when <paramref name="profile"/>.</summary>
    /// <exception cref="FormatException">The spec is malformed.</exception>
    public LatencyMeasurement Measure(string spec, bool profile) => Measure([spec], profile)[0];

    /// <summary>
    /// <see cref="Measure(string, bool)"/> for each of <paramref name="specs"/>, with the timed runs
    /// interleaved (run i of every spec, then run i + 1): a load that drifts during the measurement
    /// (a shared machine) then shifts every spec alike instead of biasing the ones measured last.
    /// </summary>
    /// <exception cref="FormatException">A spec is malformed (raised before anything runs).</exception>
    public IReadOnlyList<LatencyMeasurement> Measure(IReadOnlyList<string> specs, bool profile)
    {
        var results = Latency.Compare(_model, _images, specs, Runs, WarmupRuns + 1);
        double baseGmacs = Flops.Macs(Config) / 1e9;
        return results.Select(r =>
        {
            double gmacs = r.MacsPerImage / 1e9;
            return new LatencyMeasurement(Config.Name, Batch, r.Method, Device.Info.Spec, Runs, r.MedianMs, r.P10Ms, r.P90Ms,
                gmacs, 100 * (gmacs / baseGmacs - 1), r.TokensAfterLayer.ToArray(), profile ? Profile(r.Method) : null);
        }).ToArray();
    }

    /// <summary>Times every block's reducer under <paramref name="spec"/> over `Runs` extra forwards.</summary>
    private ReductionProfile Profile(string spec)
    {
        var clock = new Stopwatch();
        ReductionMethod.Apply(_model, spec);
        foreach (var block in _model.Blocks)
            if (block.Reducer is { } reducer) block.Reducer = new TimedReducer(reducer, Device, clock);
        Forward();      // warm-up under the same waits
        var reduction = new double[Runs];
        var forward = new double[Runs];
        for (int i = 0; i < Runs; i++)
        {
            clock.Reset();
            long start = Stopwatch.GetTimestamp();
            Forward();
            forward[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            reduction[i] = clock.Elapsed.TotalMilliseconds;
        }
        ReductionMethod.Apply(_model, "none");
        double reductionMs = Latency.Quantile(reduction, 0.5), forwardMs = Latency.Quantile(forward, 0.5);
        return new ReductionProfile(reductionMs, forwardMs, 100 * reductionMs / forwardMs);
    }

    private TokenState Forward() => Latency.Forward(_model, _images);

    /// <inheritdoc/>
    public void Dispose()
    {
        _images.Dispose();
        _model.Dispose();
    }
}
