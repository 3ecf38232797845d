// The sweep's PNG: two panels side by side, median latency (ms) against pruning rate and GMACs per
// image against pruning rate, one line per method. Every line starts at rate 0 from the shared
// baseline row. Drawing conventions (markers, legend, saving panels) are PlotFigure's.


using ScottPlot;

namespace IlgpuVit.Experiments;

/// <summary>Draws a sweep.</summary>
internal static class SweepPlot
{
    /// <summary>Writes the two-panel PNG of <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Save(SweepReport report, string path) =>
        PlotFigure.Save(path, [Panel(report, "latency", "median latency (ms)", r => r.MedianMs), Panel(report, "GMACs", "GMACs per image", r => r.GmacsPerImage)]);

    private static Plot Panel(SweepReport report, string title, string axis, Func<SweepRow, double> value)
    {
        var plot = new Plot();
        var baseline = report.Rows.First(r => r.Method == "none");
        var methods = report.Rows.Select(r => r.Method).Where(m => m != "none").Distinct().ToArray();
        for (int i = 0; i < methods.Length; i++)
        {
            var line = report.Rows.Where(r => r.Method == methods[i]).Prepend(baseline).ToArray();
            PlotFigure.Line(plot, line.Select(r => r.Rate).ToArray(), line.Select(value).ToArray(), methods[i], i);
        }
        return PlotFigure.Label(plot, $"{report.Model}, batch {report.Batch}, {report.Device}: {title}", "pruning rate p (rate 0: unpruned baseline)", axis);
    }
}
