// The runs an experiment file asks for, in the order they train: per seed, the unpruned baseline
// (method none), then every method at every manual rate (spec METHOD:rate=P, methods.md "Rate
// semantics"), then every method under every rate adjuster (spec METHOD, the adjuster picks the
// rate). Each run has a readable id that is also its folder: "none-s0", "topk-r0.04-s0", "tome-gas-s0".

using System.Globalization;

namespace IlgpuVit.Cli;

/// <summary>One training run of the grid.</summary>
/// <param name="Id">Folder name and row label, e.g. "topk-r0.04-s0".</param>
/// <param name="Method">Reduction method, "none" for the baseline.</param>
/// <param name="Rate">The manual pruning rate, or null (the baseline, or an adjusted run).</param>
/// <param name="Adjust">The rate adjuster ("gas"), or "none" for a manual rate.</param>
/// <param name="Seed">The run's seed.</param>
internal sealed record ExperimentRun(string Id, string Method, double? Rate, string Adjust, int Seed)
{
    /// <summary>The method spec the run trains with: "none", "METHOD:rate=P", or the bare method when adjusted.</summary>
    public string Spec => Method == "none" ? "none" : Rate is { } rate ? ExperimentPlan.ManualSpec(Method, rate) : Method;

    /// <summary>Whether an adjuster sets the rate during training.</summary>
    public bool Adjusted => Adjust != "none";

    /// <summary>The rate column of the tables: the manual rate, the adjuster's name, or 0 for the baseline.</summary>
    public string RateLabel => Adjusted ? Adjust : ExperimentPlan.Number(Rate ?? 0);
}

/// <summary>One inference-only point: a method at a rate applied to a trained baseline.</summary>
/// <param name="Method">Reduction method.</param>
/// <param name="Rate">Pruning rate.</param>
internal sealed record ExperimentInferencePoint(string Method, double Rate)
{
    /// <summary>The spec applied, "METHOD:rate=P".</summary>
    public string Spec => ExperimentPlan.ManualSpec(Method, Rate);
}

/// <summary>Expands an experiment file into its runs.</summary>
internal static class ExperimentPlan
{
    /// <summary>Every training run of <paramref name="config"/>, in training order (seed by seed, the baseline first).</summary>
    public static IReadOnlyList<ExperimentRun> Runs(ExperimentConfig config)
    {
        var runs = new List<ExperimentRun>();
        foreach (int seed in config.Seeds)
        {
            if (config.Baseline) runs.Add(new ExperimentRun($"none-s{seed}", "none", null, "none", seed));
            foreach (var method in config.Methods)
                foreach (var rate in config.Rates)
                    runs.Add(new ExperimentRun($"{method}-r{Number(rate)}-s{seed}", method, rate, "none", seed));
            foreach (var method in config.Methods)
                foreach (var adjust in config.Adjust)
                    runs.Add(new ExperimentRun($"{method}-{adjust}-s{seed}", method, null, adjust, seed));
        }
        return runs;
    }

    /// <summary>Every inference-only point of <paramref name="config"/> (method by method, rates in the file's order).</summary>
    public static IReadOnlyList<ExperimentInferencePoint> Inference(ExperimentConfig config) =>
        config.Inference.Methods.SelectMany(m => config.Inference.Rates.Select(r => new ExperimentInferencePoint(m, r))).ToArray();

    /// <summary>The spec of <paramref name="method"/> at the manual pruning rate <paramref name="rate"/>.</summary>
    public static string ManualSpec(string method, double rate) => $"{method}:rate={Number(rate)}";

    /// <summary>A number as the specs and ids write it (invariant culture, shortest round-trip form).</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
