// What each adjusted run's adjuster saw and did, read back from the "window" lines of its metrics.jsonl
// (docs/adjusters.md, "What every adjuster logs"): how often the rate went up, stayed or went down, and
// the signal it acted on, over all windows and over the last half (where a controller with a fixed point
// should have settled: the gap controller's g near its tolerance; GAS's dL stays negative while the
// loss falls, which is why it ramps). A table of results.md, written when the runs' folders are at hand.

namespace IlgpuVit.Experiments;

/// <summary>The adjusters' signals table of results.md.</summary>
public static class AdjusterSignals
{
    /// <summary>One line per adjusted trained run with a logged window, or null when there is none.</summary>
    /// <param name="rows">The experiment's rows.</param>
    /// <param name="folder">The experiment's folder, holding each run's folder.</param>
    public static ResultTable? Table(IReadOnlyList<ExperimentRow> rows, string folder)
    {
        var lines = ExperimentPlot.AdjustedWindows(rows, folder).Select(r => Line(r.Row, r.Windows)).ToArray();
        return lines.Length == 0 ? null : new ResultTable("the adjusters' signals (per window, from each run's metrics.jsonl)",
            ["run", "adjuster", "windows", "rate up / held / down", "signal mean", "signal mean, last half", "final rate"], lines,
            "signal: gas the window's relative loss change dL, gap the relative pruning gap g (docs/adjusters.md).");
    }

    private static string[] Line(ExperimentRow row, IReadOnlyList<ExperimentPlot.Window> windows)
    {
        int up = 0, down = 0;
        for (int i = 0; i < windows.Count; i++)
        {
            double change = windows[i].Rate - (i == 0 ? 0 : windows[i - 1].Rate);
            if (change > 0) up++;
            else if (change < 0) down++;
        }
        return [row.Run, row.Adjust, ExperimentReport.I(windows.Count),
            $"{ExperimentReport.I(up)} / {ExperimentReport.I(windows.Count - up - down)} / {ExperimentReport.I(down)}",
            Mean(windows), Mean(windows.Skip(windows.Count / 2).ToArray()), ExperimentReport.F(windows[^1].Rate, "0.####")];
    }

    private static string Mean(IReadOnlyList<ExperimentPlot.Window> windows)
    {
        var signals = windows.Where(w => w.Signal is not null).Select(w => w.Signal!.Value).ToArray();
        return ExperimentReport.F(signals.Length == 0 ? null : signals.Average(), "+0.0000;-0.0000;0.0000");
    }
}
