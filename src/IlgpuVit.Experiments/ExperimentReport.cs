// What an experiment leaves in its folder: every row (trained runs and inference-only points) as
// results.csv and results.json, the tables as results.md (the CLI prints the same Tables()) with the
// paper's claims compared from those rows (ExperimentClaims), and the plots (ExperimentPlot). Numbers
// are written in the invariant culture. GMACs are multiply-accumulates per image (docs/flops.md) counted
// from what ran; FLOPs changes are against the unpruned model, latency changes against the unpruned
// model timed in the same comparison (ExperimentBench), accuracy changes in points against the
// unpruned run of the same seed.

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using IlgpuVit.IO;
using IlgpuVit.Metrics;
using IlgpuVit.Training;

namespace IlgpuVit.Experiments;

/// <summary>One row of the results: a trained run, or a spec applied to a trained baseline at inference.</summary>
/// <param name="Kind">"train" or "inference".</param>
/// <param name="Run">The run's id (for inference rows: the baseline run whose checkpoint was used).</param>
/// <param name="Method">Reduction method, "none" for the unpruned model.</param>
/// <param name="Rate">The manual rate, the adjuster's spec ("gas"), or "0" for the unpruned model.</param>
/// <param name="Adjust">The rate adjuster ("none" for a manual rate and for inference rows).</param>
/// <param name="Seed">The run's seed.</param>
/// <param name="Spec">The spec that ran at the end (an adjusted run's final rate included).</param>
/// <param name="Accuracy">Test accuracy in [0, 1].</param>
/// <param name="AccuracyChangePoints">Accuracy minus the unpruned run's of the same seed, in points (null without a baseline).</param>
/// <param name="TestLoss">Test loss.</param>
/// <param name="GmacsPerImage">Multiply-accumulates per image, in billions.</param>
/// <param name="FlopsChangePercent">Change of the MACs against the unpruned model, in percent.</param>
/// <param name="LatencyMs">Median latency of the latency batch.</param>
/// <param name="LatencyChangePercent">Change against the unpruned model timed in the same comparison, in percent.</param>
/// <param name="Device">Where the latency was measured.</param>
/// <param name="FinalRate">The pruning rate in force at the end (0 for the unpruned model).</param>
/// <param name="TrainSeconds">Training wall time (null for inference rows).</param>
/// <param name="Steps">Optimizer steps (null for inference rows).</param>
/// <param name="Correct">Inference rows: per test image '1' where it was classified right, '0' where not (the paired bootstrap's
/// input, <see cref="ExperimentInferenceResult.Correct"/>; not written to the result files, its source is the baseline's inference.json).</param>
public sealed record ExperimentRow(
    string Kind, string Run, string Method, string Rate, string Adjust, int Seed, string Spec,
    double Accuracy, double? AccuracyChangePoints, double TestLoss, double GmacsPerImage, double FlopsChangePercent,
    double LatencyMs, double LatencyChangePercent, string Device, double FinalRate, double? TrainSeconds, int? Steps,
    [property: JsonIgnore] string? Correct = null)
{
    /// <summary>The row of a trained run.</summary>
    public static ExperimentRow Trained(ExperimentRun run, RunSummary summary, ExperimentTiming timing, double baseMacs, double? baselineAccuracy) =>
        new("train", run.Id, run.Method, run.RateLabel, run.Adjust, run.Seed, summary.Method, summary.TestAccuracy, Change(summary.TestAccuracy, baselineAccuracy),
            summary.TestLoss, summary.MacsPerImage / 1e9, 100 * (summary.MacsPerImage / baseMacs - 1), timing.MedianMs, timing.ChangePercent,
            timing.Device, run.Adjusted ? summary.FinalRate : run.Rate ?? 0, summary.TrainSeconds, summary.Steps);

    /// <summary>The row of <paramref name="point"/> applied to the checkpoint of <paramref name="baseline"/>.</summary>
    public static ExperimentRow Inferred(ExperimentRun baseline, ExperimentInferencePoint point, ExperimentInferenceResult result, double baseMacs,
        double baselineAccuracy) =>
        new("inference", baseline.Id, point.Method, ExperimentPlan.Number(point.Rate), "none", baseline.Seed, point.Spec, result.Accuracy,
            Change(result.Accuracy, baselineAccuracy), result.Loss, result.MacsPerImage / 1e9, 100 * (result.MacsPerImage / baseMacs - 1),
            result.Timing.MedianMs, result.Timing.ChangePercent, result.Timing.Device, point.Rate, null, null, result.Correct);

    /// <summary>Whether an adjuster chose this run's rate.</summary>
    public bool Adjusted => Adjust != "none";

    private static double? Change(double accuracy, double? baseline) => baseline is { } b ? 100 * (accuracy - b) : null;
}

/// <summary>A finished experiment's rows and where they were measured.</summary>
public sealed record ExperimentReport(ExperimentConfig Config, string Device, IReadOnlyList<ExperimentRow> Rows)
{
    /// <summary>The files <see cref="Write"/> creates in the experiment's folder (besides each adjusted run's plot).</summary>
    public static readonly string[] FileNames = ["results.md", "results.csv", "results.json", ExperimentPlot.FlopsFile, ExperimentPlot.LatencyFile];

    /// <summary>Writes the tables, the rows and the plots into <paramref name="folder"/>, and each adjusted run's rate and loss plot into its own folder.</summary>
    public void Write(string folder)
    {
        AtomicFile.WriteText(Path.Combine(folder, "results.md"), Markdown(folder));
        AtomicFile.WriteText(Path.Combine(folder, "results.csv"), Csv());
        AtomicFile.WriteText(Path.Combine(folder, "results.json"), JsonSerializer.Serialize(new
        {
            Config.Name, Config.Model, Config.Data, Device, Config.Seeds, Config.TrainLimit, Config.TestLimit, Config.Latency, Config.Training, Rows,
        }, ReportJson.Options));
        ExperimentPlot.Save(this, folder);
    }

    /// <summary>
    /// The tables as Markdown (trained runs, then inference-only points) under a header saying how they were measured,
    /// with the adjusters' signals when <paramref name="folder"/> (the experiment's, holding the runs' logs) is given,
    /// then the paper's claims as comparisons of those rows (ExperimentClaims).
    /// </summary>
    public string Markdown(string? folder = null)
    {
        var text = new StringBuilder($"# {Config.Name}: {Config.Model} on {Config.Data}\n\n{Description}\n");
        var tables = Tables().ToList();
        if (folder is not null && AdjusterSignals.Table(Rows, folder) is { } signals) tables.Add(signals);
        foreach (var table in tables)
        {
            text.Append($"\n## {table.Title}\n\n").Append(table.MarkdownRows());
            if (table.Caption is not null) text.Append('\n').Append(table.Caption).Append('\n');
        }
        var claims = ExperimentClaims.Lines(Rows);
        if (claims.Count > 0) text.Append('\n').AppendJoin('\n', claims);
        return text.ToString();
    }

    /// <summary>Every field of every row, one row per line.</summary>
    public string Csv()
    {
        var text = new StringBuilder("kind,run,method,rate,adjust,seed,spec,accuracy,accuracyChangePoints,testLoss,gmacsPerImage,flopsChangePercent," +
                                     "latencyMs,latencyChangePercent,device,finalRate,trainSeconds,steps\n");
        foreach (var r in Rows)
            text.AppendJoin(',', r.Kind, Quote(r.Run), Quote(r.Method), Quote(r.Rate), Quote(r.Adjust), r.Seed, Quote(r.Spec), N(r.Accuracy), N(r.AccuracyChangePoints), N(r.TestLoss), N(r.GmacsPerImage),
                N(r.FlopsChangePercent), N(r.LatencyMs), N(r.LatencyChangePercent), r.Device, N(r.FinalRate), N(r.TrainSeconds), r.Steps).Append('\n');
        return text.ToString();
    }

    private string Description =>
        $"{Config.Training.Epochs} epochs, seeds {string.Join(", ", Config.Seeds)}" +
        (Config.TrainLimit > 0 ? $", first {Config.TrainLimit} training images" : "") + (Config.TestLimit > 0 ? $", first {Config.TestLimit} test images" : "") +
        $". Latency: median of {Config.Latency.Runs} runs on one batch of {Config.Latency.Batch} test images on {Device}, each spec timed against the " +
        "unpruned model in the same interleaved comparison. GMACs: multiply-accumulates per image counted from what ran; FLOPs and latency " +
        "changes against the unpruned model; Δ acc: accuracy points against the unpruned run of the same seed. Adjusted runs (rate `gas`) " +
        "end at the rate in the final-rate column, the rate their accuracy, GMACs and latency are measured at.";

    /// <summary>The tables of results.md and the console: trained runs, then inference-only points (each only when it has rows).</summary>
    public IReadOnlyList<ResultTable> Tables()
    {
        var tables = new List<ResultTable>();
        string[] measured = ["accuracy %", "Δ acc", "GMACs/img", "FLOPs %", "latency ms", "latency %"];
        var trained = Rows.Where(r => r.Kind == "train").ToArray();
        if (trained.Length > 0)
            tables.Add(new ResultTable("trained with token reduction", ["run", "method", "rate", "seed", .. measured, "final rate", "train s"],
                trained.Select(r => (string[])[r.Run, r.Method, r.Rate, I(r.Seed), .. Measured(r), F(r.FinalRate, "0.####"), F(r.TrainSeconds, "F0")]).ToArray()));
        var inferred = Rows.Where(r => r.Kind == "inference").ToArray();
        if (inferred.Length > 0)
            tables.Add(new ResultTable("inference only (the trained baseline, no retraining)", ["checkpoint", "method", "rate", .. measured],
                inferred.Select(r => (string[])[r.Run, r.Method, r.Rate, .. Measured(r)]).ToArray()));
        if (Rows.Count > 0) tables.Add(Means());
        return tables;
    }

    /// <summary>
    /// One line per configuration (kind, method, rate or adjuster) over its seeds: mean accuracy and mean Δ acc (each seed against its
    /// own unpruned run, so a paired difference) with 95% t intervals (ExperimentStatistics), mean GMACs, FLOPs change and final rate.
    /// </summary>
    public ResultTable Means()
    {
        var groups = Rows.GroupBy(r => (r.Kind, r.Method, r.Rate)).ToArray();
        return new ResultTable("means over seeds (95% t intervals; n seeds)",
            ["kind", "method", "rate", "n", "accuracy %", "Δ acc (paired)", "GMACs/img", "FLOPs %", "final rate"],
            groups.Select(g =>
            {
                var rows = g.ToArray();
                var accuracy = ExperimentStatistics.Mean(rows.Select(r => r.Accuracy).ToArray()).Times(100);
                var changes = rows.Where(r => r.AccuracyChangePoints is not null).Select(r => r.AccuracyChangePoints!.Value).ToArray();
                string change = changes.Length == 0 ? "-" : Spread(ExperimentStatistics.Mean(changes), "+0.00;-0.00;0.00");
                return (string[])[g.Key.Kind, g.Key.Method, g.Key.Rate, I(rows.Length), Spread(accuracy, "F2"), change,
                    F(rows.Average(r => r.GmacsPerImage), "G4"), F(rows.Average(r => r.FlopsChangePercent), "+0.0;-0.0;0.0"), F(rows.Average(r => r.FinalRate), "0.####")];
            }).ToArray());
    }

    /// <summary>"86.40 [86.10, 86.70]", or the mean alone when one seed gives no interval.</summary>
    private static string Spread(Interval interval, string format) =>
        interval.Formed ? $"{F(interval.Mean, format)} [{F(interval.Low, format)}, {F(interval.High, format)}]" : F(interval.Mean, format);

    private static string[] Measured(ExperimentRow r) =>
        [F(100 * r.Accuracy, "F2"), F(r.AccuracyChangePoints, "+0.00;-0.00;0.00"), F(r.GmacsPerImage, "G4"), F(r.FlopsChangePercent, "+0.0;-0.0;0.0"),
         F(r.LatencyMs, "F2"), F(r.LatencyChangePercent, "+0.0;-0.0;0.0")];

    // Specs with options hold commas: such fields are quoted (RFC 4180).
    private static string Quote(string text) => text.Contains(',') || text.Contains('"') ? $"\"{text.Replace("\"", "\"\"")}\"" : text;

    internal static string I(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A number in the invariant culture, "-" for none (the tables' cells).</summary>
    internal static string F(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string N(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}
