// The sweep's PNG: two panels side by side, median latency (ms) against pruning rate and GMACs per
// image against pruning rate, one line per method. Every line starts at rate 0 from the shared
// baseline row. Rendered headless by ScottPlot on SkiaSharp (CLI only; the library stays free of
// native dependencies).

using ScottPlot;

namespace IlgpuVit.Cli;

/// <summary>Draws a sweep.</summary>
internal static class BenchSweepPlot
{
    private const int PanelWidth = 700, Height = 500;

    // Lines of equal values (Top-K and Top-K + VPA count the same tokens) stay told apart by their markers.
    private static readonly MarkerShape[] Markers = [MarkerShape.FilledCircle, MarkerShape.OpenSquare, MarkerShape.FilledTriangleUp,
        MarkerShape.OpenDiamond, MarkerShape.Cross, MarkerShape.FilledSquare, MarkerShape.OpenCircle, MarkerShape.Eks];

    /// <summary>Writes the two-panel PNG of <paramref name="report"/> to <paramref name="path"/>.</summary>
    public static void Save(BenchSweepReport report, string path)
    {
        var latency = Panel(report, "latency", "median latency (ms)", r => r.MedianMs);
        var macs = Panel(report, "GMACs", "GMACs per image", r => r.GmacsPerImage);
        var figure = new Multiplot();
        figure.Reset(latency);      // a new multiplot holds one empty plot
        figure.AddPlot(macs);
        figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
        figure.SavePng(path, 2 * PanelWidth, Height);
    }

    private static Plot Panel(BenchSweepReport report, string title, string axis, Func<BenchSweepRow, double> value)
    {
        var plot = new Plot();
        var baseline = report.Rows.First(r => r.Method == "none");
        var methods = report.Rows.Select(r => r.Method).Where(m => m != "none").Distinct().ToArray();
        for (int i = 0; i < methods.Length; i++)
        {
            var method = methods[i];
            var line = report.Rows.Where(r => r.Method == method).Prepend(baseline).ToArray();
            var scatter = plot.Add.Scatter(line.Select(r => r.Rate).ToArray(), line.Select(value).ToArray());
            scatter.LegendText = method;
            scatter.MarkerShape = Markers[i % Markers.Length];
            scatter.MarkerSize = 9;
        }
        plot.Title($"{report.Model}, batch {report.Batch}, {report.Device}: {title}");
        plot.XLabel("pruning rate p (rate 0: unpruned baseline)");
        plot.YLabel(axis);
        plot.ShowLegend(Edge.Bottom);      // outside the axes: it never hides a point
        return plot;
    }
}
