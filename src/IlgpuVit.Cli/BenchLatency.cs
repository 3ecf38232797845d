// The one latency measurement behind `ilgpuvit bench latency`, single and --sweep alike: a model with
// random weights and a batch of random images (latency does not depend on the values), built once;
// each spec is applied to it, run once to count tokens, twice more as warm-up, then timed `runs`
// times (median, p10, p90), the runs of several specs interleaved so that load drift hits all alike. GMACs per image are counted from the token counts that ran plus the
// method's own products (flops.md). With profiling, further runs time each block's reduction step
// with the accelerator synchronised around it, apart from the timed runs since the waits perturb them.

using System.Diagnostics;
using IlgpuVit.Autodiff;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;

namespace IlgpuVit.Cli;

/// <summary>Reduction cost of one forward (medians over the profiled runs).</summary>
/// <param name="ReductionMs">Time spent inside the reducers of all blocks per forward.</param>
/// <param name="ForwardMs">The profiled forward's time (synchronised around each reduction).</param>
/// <param name="SharePercent">ReductionMs as a percentage of ForwardMs.</param>
internal sealed record BenchReductionProfile(double ReductionMs, double ForwardMs, double SharePercent);

/// <summary>One latency measurement.</summary>
internal sealed record BenchLatencyResult(
    string Model, int Batch, string Method, string Device, int Runs,
    double MedianMs, double P10Ms, double P90Ms,
    double GmacsPerImage, double FlopsChangePercent, IReadOnlyList<int> TokensAfterLayer,
    BenchReductionProfile? Profile);

/// <summary>A model and a batch of images, measured under any number of reduction specs.</summary>
internal sealed class BenchLatency : IDisposable
{
    private const int WarmupRuns = 2;
    private readonly VisionTransformer _model;
    private readonly Tensor<float> _images;

    /// <summary>A randomly initialised <paramref name="config"/> on <paramref name="device"/> with <paramref name="batch"/> random images.</summary>
    /// <exception cref="ArgumentException">The batch is below 1 or the runs below 10.</exception>
    public BenchLatency(VitConfig config, Device device, int batch, int runs)
    {
        if (batch < 1) throw new ArgumentException($"--batch must be at least 1, got {batch}.");
        if (runs < 10) throw new ArgumentException($"--runs must be at least 10, got {runs}.");
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
    public BenchLatencyResult Measure(string spec, bool profile) => Measure([spec], profile)[0];

    /// <summary>
    /// <see cref="Measure(string, bool)"/> for each of <paramref name="specs"/>, with the timed runs
    /// interleaved (run i of every spec, then run i + 1): a load that drifts during the measurement
    /// (a shared machine) then shifts every spec alike instead of biasing the ones measured last.
    /// </summary>
    /// <exception cref="FormatException">A spec is malformed (raised before anything runs).</exception>
    public IReadOnlyList<BenchLatencyResult> Measure(IReadOnlyList<string> specs, bool profile)
    {
        var reducers = specs.Select(Reducers).ToArray();
        var first = new TokenState[specs.Count];
        for (int s = 0; s < specs.Count; s++)
        {
            Use(reducers[s]);
            first[s] = Forward();
            for (int i = 0; i < WarmupRuns; i++) Forward();
        }
        var times = new double[specs.Count][];
        for (int s = 0; s < specs.Count; s++) times[s] = new double[Runs];
        for (int i = 0; i < Runs; i++)
            for (int s = 0; s < specs.Count; s++)
            {
                Use(reducers[s]);
                times[s][i] = Timed(() => Forward());
            }

        double baseGmacs = Flops.Macs(Config) / 1e9;
        return specs.Select((spec, s) =>
        {
            var counts = first[s].TokensAfterLayer.ToArray();
            var before = counts.Prepend(Config.Tokens).Take(Config.Depth).ToArray();
            double gmacs = Flops.Macs(Config, before, counts, first[s].MethodMacs) / 1e9;
            return new BenchLatencyResult(Config.Name, Batch, spec, Device.Info.Spec, Runs,
                Quantile(times[s], 0.5), Quantile(times[s], 0.1), Quantile(times[s], 0.9),
                gmacs, 100 * (gmacs / baseGmacs - 1), counts, profile ? Profile(reducers[s]) : null);
        }).ToArray();
    }

    /// <summary>Times every block's reducer of <paramref name="reducers"/> over `Runs` extra forwards.</summary>
    private BenchReductionProfile Profile(ITokenReducer?[] reducers)
    {
        var clock = new Stopwatch();
        Use(reducers.Select(r => r is null ? null : (ITokenReducer)new BenchTimedReducer(r, Device, clock)).ToArray());
        Forward();      // warm-up under the same waits
        var reduction = new double[Runs];
        var forward = new double[Runs];
        for (int i = 0; i < Runs; i++)
        {
            clock.Reset();
            forward[i] = Timed(() => Forward());
            reduction[i] = clock.Elapsed.TotalMilliseconds;
        }
        double reductionMs = Quantile(reduction, 0.5), forwardMs = Quantile(forward, 0.5);
        return new BenchReductionProfile(reductionMs, forwardMs, 100 * reductionMs / forwardMs);
    }

    /// <summary>Each block's reducer under <paramref name="spec"/>, as ReductionMethod.Apply sets them.</summary>
    private ITokenReducer?[] Reducers(string spec)
    {
        ReductionMethod.Apply(_model, spec);
        return _model.Blocks.Select(b => b.Reducer).ToArray();
    }

    /// <summary>Puts <paramref name="reducers"/>[l] in block l.</summary>
    private void Use(ITokenReducer?[] reducers)
    {
        for (int l = 0; l < reducers.Length; l++) _model.Blocks[l].Reducer = reducers[l];
    }

    private TokenState Forward()
    {
        var state = new TokenState();
        using var tape = Tape.NoGrad();
        _model.Forward(tape, _images, state).Value.ToArray();     // the copy back waits for the device
        return state;
    }

    private static double Timed(Action run)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>The nearest-rank quantile <paramref name="q"/> of <paramref name="values"/> (sorted in place).</summary>
    private static double Quantile(double[] values, double q)
    {
        Array.Sort(values);
        return values[(int)Math.Round(q * (values.Length - 1))];
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _images.Dispose();
        _model.Dispose();
    }
}
