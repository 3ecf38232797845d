// An experiment's PNGs. accuracy_vs_flops.png and accuracy_vs_latency.png hold up to two panels:
// the trained runs (per method a line through its manual rates, its adjusted runs as a separate
// series of large open markers in the same colour, the unpruned baseline as a black diamond) and the
// inference-only points on the trained baseline (per method a line from the baseline through its
// rates), each in its own labelled panel. Seeds are averaged per point, with error bars of the 95% t
// interval where a point has two seeds or more. <run>/rate_and_loss.png of
// each adjusted run stacks the pruning rate and the window's training loss against the step, from
// the "window" lines of the run's metrics.jsonl; rate_trajectories.png draws every adjusted run's
// rate in one figure (a panel per method, a colour per adjuster, a line per seed), so adjusters and
// seeds are compared at a glance. Drawing conventions are PlotFigure's.

using System.Text.Json;
using ScottPlot;

namespace IlgpuVit.Experiments;

/// <summary>Draws an experiment.</summary>
internal static class ExperimentPlot
{
    /// <summary>The plot files in the experiment's folder, and in each adjusted run's folder.</summary>
    public const string FlopsFile = "accuracy_vs_flops.png", LatencyFile = "accuracy_vs_latency.png", RateFile = "rate_and_loss.png",
        TrajectoriesFile = "rate_trajectories.png";

    /// <summary>One point of a series: seeds averaged.</summary>
    /// <param name="X">Mean GMACs or latency.</param>
    /// <param name="Accuracy">Mean accuracy in percent.</param>
    /// <param name="Half">Half the 95% t interval of the accuracy over the seeds, in points (0 for one seed).</param>
    private sealed record Point(double X, double Accuracy, double Half = 0);

    /// <summary>One window of an adjusted run's log.</summary>
    /// <param name="Step">Optimizer step at the window's end.</param>
    /// <param name="Rate">Pruning rate after the window.</param>
    /// <param name="Loss">Mean training loss over the window.</param>
    /// <param name="Signal">What the adjuster's update acted on (docs/adjusters.md), or null for one that reads none.</param>
    internal sealed record Window(int Step, double Rate, double Loss, double? Signal = null);

    /// <summary>Writes both accuracy plots into <paramref name="folder"/> and the rate plot of every adjusted run into its folder.</summary>
    public static void Save(ExperimentReport report, string folder)
    {
        PlotFigure.Save(Path.Combine(folder, FlopsFile), Panels(report, "GMACs per image", r => r.GmacsPerImage));
        PlotFigure.Save(Path.Combine(folder, LatencyFile), Panels(report, "latency change vs the unpruned model (%)", r => r.LatencyChangePercent));
        var adjusted = AdjustedWindows(report.Rows, folder);
        foreach (var (row, windows) in adjusted) SaveRate(row.Run, windows, Path.Combine(folder, row.Run, RateFile));
        if (adjusted.Length > 0) SaveTrajectories(report.Config.Name, adjusted, Path.Combine(folder, TrajectoriesFile));
    }

    /// <summary>A panel per method; a colour per adjuster (its first seed carries the legend entry), a line per seed.</summary>
    private static void SaveTrajectories(string name, (ExperimentRow Row, IReadOnlyList<Window> Windows)[] runs, string path)
    {
        var adjusters = runs.Select(r => r.Row.Adjust).Distinct().ToArray();
        var panels = runs.GroupBy(r => r.Row.Method).Select(method =>
        {
            var plot = new Plot();
            foreach (var (row, windows) in method.OrderBy(r => r.Row.Adjust).ThenBy(r => r.Row.Seed))
            {
                int color = Array.IndexOf(adjusters, row.Adjust);
                var line = PlotFigure.Line(plot, windows.Select(w => (double)w.Step).ToArray(), windows.Select(w => w.Rate).ToArray(), "", color);
                line.MarkerSize = 0;
                line.LegendText = method.First(r => r.Row.Adjust == row.Adjust).Row == row
                    ? $"{row.Adjust} ({method.Count(r => r.Row.Adjust == row.Adjust)} seeds)" : "";
            }
            return PlotFigure.Label(plot, $"{name}: {method.Key}, pruning rate of every adjusted run", "optimizer step", "pruning rate p");
        }).ToArray();
        PlotFigure.Save(path, panels);
    }

    /// <summary>Every adjusted trained run of <paramref name="rows"/> with the windows its metrics log in <paramref name="folder"/> holds (runs without one left out).</summary>
    internal static (ExperimentRow Row, IReadOnlyList<Window> Windows)[] AdjustedWindows(IEnumerable<ExperimentRow> rows, string folder) =>
        rows.Where(r => r.Adjusted && r.Kind == "train")
            .Select(r => (Row: r, Windows: Windows(Path.Combine(folder, r.Run, "metrics.jsonl")))).Where(r => r.Windows.Count > 0).ToArray();

    /// <summary>The "window" lines of a metrics log (the last one of each step, since a resumed run repeats steps).</summary>
    internal static IReadOnlyList<Window> Windows(string metrics)
    {
        if (!File.Exists(metrics)) return [];
        var windows = new SortedDictionary<int, Window>();
        foreach (var line in File.ReadLines(metrics))
        {
            // A run killed mid-write leaves a torn last line; the plot is a view of the log, so it skips what it cannot read.
            try
            {
                using var json = JsonDocument.Parse(line);
                var e = json.RootElement;
                if (e.TryGetProperty("event", out var kind) && kind.GetString() == "window")
                {
                    int step = e.GetProperty("step").GetInt32();
                    double? signal = e.TryGetProperty("signal", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : null;
                    windows[step] = new Window(step, e.GetProperty("rate").GetDouble(), e.GetProperty("loss").GetDouble(), signal);
                }
            }
            catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
            }
        }
        return windows.Values.ToArray();
    }

    private static void SaveRate(string run, IReadOnlyList<Window> windows, string path)
    {
        double[] steps = windows.Select(w => (double)w.Step).ToArray();
        var rate = new Plot();
        PlotFigure.Line(rate, steps, windows.Select(w => w.Rate).ToArray(), "pruning rate p", 0);
        var loss = new Plot();
        PlotFigure.Line(loss, steps, windows.Select(w => w.Loss).ToArray(), "window training loss", 1);
        PlotFigure.Save(path, [PlotFigure.Label(rate, $"{run}: pruning rate per window", "optimizer step", "pruning rate p"),
            PlotFigure.Label(loss, $"{run}: training loss per window", "optimizer step", "mean loss over the window")], stacked: true);
    }

    private static IReadOnlyList<Plot> Panels(ExperimentReport report, string axis, Func<ExperimentRow, double> x)
    {
        var trained = report.Rows.Where(r => r.Kind == "train").ToArray();
        var inferred = report.Rows.Where(r => r.Kind == "inference").ToArray();
        var baseline = trained.Where(r => r.Method == "none").ToArray();
        var panels = new List<Plot>();
        if (trained.Any(r => r.Method != "none") || inferred.Length == 0)
            panels.Add(Trained(trained, baseline, x, $"{report.Config.Name}: trained with token reduction", axis));
        if (inferred.Length > 0)
            panels.Add(Inferred(inferred, baseline, x, $"{report.Config.Name}: inference only on the trained baseline (no retraining)", axis));
        return panels;
    }

    private static Plot Trained(ExperimentRow[] rows, ExperimentRow[] baseline, Func<ExperimentRow, double> x, string title, string axis)
    {
        var plot = new Plot();
        var methods = rows.Select(r => r.Method).Where(m => m != "none").Distinct().ToArray();
        for (int i = 0; i < methods.Length; i++)
        {
            var manual = Mean(rows.Where(r => r.Method == methods[i] && !r.Adjusted), x);
            if (manual.Count > 0)
                Bars(plot, manual, PlotFigure.Line(plot, manual.Select(p => p.X).ToArray(), manual.Select(p => p.Accuracy).ToArray(), $"{methods[i]} (manual rates)", i));
            foreach (var group in rows.Where(r => r.Method == methods[i] && r.Adjusted).GroupBy(r => r.Rate))
            {
                var adjusted = Mean(group, x);
                var series = PlotFigure.Line(plot, adjusted.Select(p => p.X).ToArray(), adjusted.Select(p => p.Accuracy).ToArray(), $"{methods[i]} + {group.Key}", i);
                series.LineWidth = 0;       // adjusted runs are points of their own, not a curve
                series.MarkerShape = MarkerShape.OpenCircleWithDot;
                series.MarkerSize = 16;
                series.MarkerLineWidth = 2;
                Bars(plot, adjusted, series);
            }
        }
        MarkBaseline(plot, baseline, x);
        return PlotFigure.Label(plot, title, axis, "test accuracy (%)");
    }

    private static Plot Inferred(ExperimentRow[] rows, ExperimentRow[] baseline, Func<ExperimentRow, double> x, string title, string axis)
    {
        var plot = new Plot();
        var methods = rows.Select(r => r.Method).Distinct().ToArray();
        var start = Mean(baseline, x);
        for (int i = 0; i < methods.Length; i++)
        {
            var line = start.Concat(Mean(rows.Where(r => r.Method == methods[i]), x)).OrderBy(p => p.X).ToArray();
            Bars(plot, line, PlotFigure.Line(plot, line.Select(p => p.X).ToArray(), line.Select(p => p.Accuracy).ToArray(), methods[i], i));
        }
        MarkBaseline(plot, baseline, x);
        return PlotFigure.Label(plot, title, axis, "test accuracy (%)");
    }

    private static void MarkBaseline(Plot plot, ExperimentRow[] baseline, Func<ExperimentRow, double> x)
    {
        var point = Mean(baseline, x);
        if (point.Count == 0) return;
        var marker = plot.Add.Marker(point[0].X, point[0].Accuracy, MarkerShape.FilledDiamond, 14, Colors.Black);
        marker.LegendText = "unpruned baseline";
    }

    /// <summary>The rows' points, seeds averaged per rate with their 95% t intervals, ordered along the x axis.</summary>
    private static IReadOnlyList<Point> Mean(IEnumerable<ExperimentRow> rows, Func<ExperimentRow, double> x) =>
        rows.GroupBy(r => (r.Method, r.Rate)).Select(g =>
        {
            var interval = ExperimentStatistics.Mean(g.Select(r => 100 * r.Accuracy).ToArray());
            return new Point(g.Average(x), interval.Mean, interval.Formed ? interval.High - interval.Mean : 0);
        }).OrderBy(p => p.X).ToArray();

    /// <summary>Error bars (the 95% t intervals over seeds) on the points that have them, in the series' color.</summary>
    private static void Bars(Plot plot, IReadOnlyList<Point> points, ScottPlot.Plottables.Scatter series)
    {
        var spread = points.Where(p => p.Half > 0).ToArray();
        if (spread.Length == 0) return;
        var bars = plot.Add.ErrorBar(spread.Select(p => p.X).ToArray(), spread.Select(p => p.Accuracy).ToArray(), spread.Select(p => p.Half).ToArray());
        bars.Color = series.Color;
    }
}
