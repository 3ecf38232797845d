// `ilgpuvit bench latency --sweep`: the latency measurement over a grid of methods x pruning rates.
// Each point is the spec METHOD:rate=P (docs/methods.md, "Rate semantics"); rate 0 is the unpruned
// baseline, measured once per sweep and shared by every method's line, and every change (FLOPs,
// latency) is taken against that baseline of the same run, its timed runs interleaved with theirs. The grid is checked whole, specs
// included, before anything is measured, so a typo costs no benchmark time.

using System.Globalization;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;

namespace IlgpuVit.Experiments;

/// <summary>One point of the grid.</summary>
/// <param name="Method">Method name, "none" for the baseline.</param>
/// <param name="Rate">Pruning rate p, 0 for the baseline.</param>
/// <param name="Spec">The spec measured, e.g. "topk:rate=0.06".</param>
public sealed record SweepPoint(string Method, double Rate, string Spec);

/// <summary>One measured row of a sweep.</summary>
public sealed record SweepRow(
    string Method, string Spec, double Rate,
    double MedianMs, double P10Ms, double P90Ms,
    double GmacsPerImage, double FlopsChangePercent, double LatencyChangePercent,
    double? LatencyPerFlopsChange, int TokensAfterLastBlock, IReadOnlyList<int> TokensAfterLayer,
    double? ReductionMs, double? ReductionSharePercent);

/// <summary>Plans and runs a sweep.</summary>
public static class LatencySweep
{
    /// <summary>The rates swept when --rates is not given.</summary>
    public const string DefaultRates = "0.02,0.04,0.06,0.08,0.1";

    /// <summary>
    /// The baseline followed by every (method, rate) of <paramref name="methods"/> (comma-separated;
    /// null means every method ReductionMethod lists) and <paramref name="rates"/> (comma-separated, in [0, 1)).
    /// </summary>
    /// <exception cref="ArgumentException">A list is empty, a method is unknown, or a rate is not a number in [0, 1).</exception>
    /// <exception cref="FormatException">A method rejects a rate.</exception>
    public static IReadOnlyList<SweepPoint> Plan(VitConfig config, string? methods, string rates)
    {
        var known = ReductionMethod.Names.Where(n => n != "none").ToArray();
        var methodList = methods is null ? known : Items("--methods", methods);
        foreach (var method in methodList)
        {
            if (method == "none") throw new ArgumentException("--methods: 'none' is the baseline, measured in every sweep; list reducing methods only.");
            if (!known.Contains(method)) throw new ArgumentException($"--methods: unknown method '{method}'; known: {string.Join(", ", known)}.");
        }
        var rateList = Items("--rates", rates).Select(Rate).Where(r => r > 0).Distinct().Order().ToArray();
        if (rateList.Length == 0) throw new ArgumentException($"--rates: no rate above 0 in '{rates}' (rate 0 is the baseline, always measured).");

        var points = new List<SweepPoint> { new("none", 0, "none") };
        foreach (var method in methodList.Distinct())
            foreach (var rate in rateList)
            {
                var point = new SweepPoint(method, rate, $"{method}:rate={rate.ToString(CultureInfo.InvariantCulture)}");
                ReductionMethod.Parse(point.Spec, config.Depth);      // throws now, not after minutes of measuring
                points.Add(point);
            }
        return points;
    }

    /// <summary>Measures every point of <paramref name="plan"/> (the baseline first), their timed runs interleaved.</summary>
    public static IReadOnlyList<SweepRow> Run(LatencyBenchmark bench, IReadOnlyList<SweepPoint> plan, bool profile)
    {
        var results = bench.Measure(plan.Select(p => p.Spec).ToArray(), profile);
        var baseline = results[0];
        return plan.Zip(results, (point, result) =>
        {
            double latencyChange = 100 * (result.MedianMs / baseline.MedianMs - 1);
            return new SweepRow(point.Method, point.Spec, point.Rate, result.MedianMs, result.P10Ms, result.P90Ms,
                result.GmacsPerImage, result.FlopsChangePercent, latencyChange,
                result.FlopsChangePercent == 0 ? null : latencyChange / result.FlopsChangePercent,
                result.TokensAfterLayer[^1], result.TokensAfterLayer,
                result.Profile?.ReductionMs, result.Profile?.SharePercent);
        }).ToArray();
    }

    private static string[] Items(string option, string text)
    {
        var items = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return items.Length > 0 ? items : throw new ArgumentException($"{option}: the list is empty; give comma-separated values.");
    }

    private static double Rate(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate >= 0 && rate < 1
            ? rate
            : throw new ArgumentException($"--rates: '{text}' is not a pruning rate in [0, 1).");
}
