// The runs an experiment file asks for, in the order they train: per seed, the unpruned baseline
// (method none), then every method at every manual rate (spec METHOD:rate=P, docs/methods.md "Rate
// semantics"), then every method under every rate adjuster (spec METHOD, the adjuster picks the
// rate). Each run has a readable id that is also its folder: "none-s0", "topk-r0.04-s0", "tome-gas-s0"
// ("topk-vpa-lambda=0.5-r0.08-s0" for a method with options, "etps-ramp-0to0.1-s0" for a schedule).

using System.Globalization;
using IlgpuVit.Reduction;

namespace IlgpuVit.Experiments;

/// <summary>One training run of the grid.</summary>
/// <param name="Id">Folder name and row label, e.g. "topk-r0.04-s0".</param>
/// <param name="Method">Reduction method, "none" for the baseline.</param>
/// <param name="Rate">The manual pruning rate, or null (the baseline, or an adjusted run).</param>
/// <param name="Adjust">The rate adjuster ("gas"), or "none" for a manual rate.</param>
/// <param name="Seed">The run's seed.</param>
public sealed record ExperimentRun(string Id, string Method, double? Rate, string Adjust, int Seed)
{
    /// <summary>The method spec the run trains with: "none", "METHOD:rate=P", or the bare method when adjusted.</summary>
    public string Spec => Method == "none" ? "none" : Rate is { } rate ? ExperimentPlan.ManualSpec(Method, rate) : Method;

    /// <summary>Whether an adjuster sets the rate during training.</summary>
    public bool Adjusted => Adjust != "none";

    /// <summary>The rate column of the tables: the manual rate, the adjuster's spec, or 0 for the baseline.</summary>
    public string RateLabel => Adjusted ? Adjust : ExperimentPlan.Number(Rate ?? 0);
}

/// <summary>One inference-only point: a method at a rate applied to a trained baseline.</summary>
/// <param name="Method">Reduction method.</param>
/// <param name="Rate">Pruning rate.</param>
public sealed record ExperimentInferencePoint(string Method, double Rate)
{
    /// <summary>The spec applied, "METHOD:rate=P".</summary>
    public string Spec => ExperimentPlan.ManualSpec(Method, Rate);
}

/// <summary>Expands an experiment file into its runs.</summary>
public static class ExperimentPlan
{
    /// <summary>Every training run of <paramref name="config"/>, in training order (seed by seed, the baseline first).</summary>
    public static IReadOnlyList<ExperimentRun> Runs(ExperimentConfig config) =>
        [.. config.Seeds.SelectMany(seed => Runs(config.Methods, config.Rates, config.Adjust, [seed]).Prepend(Baseline(seed)).Skip(config.Baseline ? 0 : 1))];

    /// <summary>The unpruned run of <paramref name="seed"/>.</summary>
    public static ExperimentRun Baseline(int seed) => new($"none-s{seed}", "none", null, "none", seed);

    /// <summary>The reducing runs of a grid: per seed, each method at each rate, then each method under each adjuster.</summary>
    public static IReadOnlyList<ExperimentRun> Runs(IReadOnlyList<string> methods, IReadOnlyList<double> rates, IReadOnlyList<string> adjusters,
        IReadOnlyList<int> seeds)
    {
        var runs = new List<ExperimentRun>();
        foreach (int seed in seeds)
        {
            foreach (var method in methods)
                foreach (var rate in rates)
                    runs.Add(new ExperimentRun($"{Name(method)}-r{Number(rate)}-s{seed}", method, rate, "none", seed));
            foreach (var method in methods)
                foreach (var adjust in adjusters)
                    runs.Add(new ExperimentRun($"{Name(method)}-{Name(adjust)}-s{seed}", method, null, adjust, seed));
        }
        return runs;
    }

    /// <summary>Every inference-only point of <paramref name="config"/> (method by method, rates in the file's order).</summary>
    public static IReadOnlyList<ExperimentInferencePoint> Inference(ExperimentConfig config) =>
        config.Inference.Methods.SelectMany(m => config.Inference.Rates.Select(r => new ExperimentInferencePoint(m, r))).ToArray();

    /// <summary>The spec of <paramref name="method"/> (a bare method, options allowed) at the manual pruning rate <paramref name="rate"/>.</summary>
    /// <exception cref="FormatException">The method names a rate of its own.</exception>
    public static string ManualSpec(string method, double rate) => ReductionMethod.WithRate(method, rate);

    /// <summary>A spec as part of a folder name: "topk-vpa:lambda=0.5" becomes "topk-vpa-lambda=0.5", "ramp:0..0.1" "ramp-0to0.1".</summary>
    private static string Name(string spec) => spec.Trim().Replace("..", "to").Replace(':', '-').Replace(',', '-').Replace(' ', '-');

    /// <summary>A number as the specs and ids write it (invariant culture, shortest round-trip form).</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
