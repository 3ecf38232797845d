// What every PNG shares (the experiment's here, the CLI's latency sweep): a line per series
// with its own marker shape, so series of equal values stay told apart; the legend outside the axes,
// so it never hides a point; and several panels saved as one image. Rendered headless by ScottPlot
// on SkiaSharp (in this assembly and the CLI only: the core library stays free of native dependencies).

using ScottPlot;
using ScottPlot.Plottables;

namespace IlgpuVit.Experiments;

/// <summary>Shared drawing helpers for the plots.</summary>
internal static class PlotFigure
{
    /// <summary>Width and height in pixels of one panel.</summary>
    public const int PanelWidth = 700, PanelHeight = 500;

    // Lines of equal values (Top-K and Top-K + VPA count the same tokens) stay told apart by their markers.
    private static readonly MarkerShape[] Markers = [MarkerShape.FilledCircle, MarkerShape.OpenSquare, MarkerShape.FilledTriangleUp,
        MarkerShape.OpenDiamond, MarkerShape.Cross, MarkerShape.FilledSquare, MarkerShape.OpenCircle, MarkerShape.Eks];

    /// <summary>The marker shape of series number <paramref name="index"/>.</summary>
    public static MarkerShape Marker(int index) => Markers[index % Markers.Length];

    /// <summary>The colour of series number <paramref name="index"/> (the plot's palette).</summary>
    public static Color Color(Plot plot, int index) => plot.Add.Palette.GetColor(index);

    /// <summary>Adds series number <paramref name="index"/>: points joined by a line, in that series' colour and marker.</summary>
    public static Scatter Line(Plot plot, IReadOnlyList<double> xs, IReadOnlyList<double> ys, string label, int index)
    {
        var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray(), Color(plot, index));
        scatter.LegendText = label;
        scatter.MarkerShape = Marker(index);
        scatter.MarkerSize = 9;
        return scatter;
    }

    /// <summary>Titles, axis labels and the legend below the axes (outside them: it never hides a point).</summary>
    public static Plot Label(Plot plot, string title, string x, string y)
    {
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        plot.ShowLegend(Edge.Bottom);
        return plot;
    }

    /// <summary>Writes <paramref name="panels"/> side by side (or stacked, when <paramref name="stacked"/>) as one PNG.</summary>
    public static void Save(string path, IReadOnlyList<Plot> panels, bool stacked = false)
    {
        if (panels.Count == 0) throw new ArgumentException("A figure needs at least one panel.", nameof(panels));
        var figure = new Multiplot();
        figure.Reset(panels[0]);        // a new multiplot holds one empty plot
        foreach (var panel in panels.Skip(1)) figure.AddPlot(panel);
        figure.Layout = stacked ? new ScottPlot.MultiplotLayouts.Rows() : new ScottPlot.MultiplotLayouts.Columns();
        figure.SavePng(path, stacked ? PanelWidth : panels.Count * PanelWidth, stacked ? panels.Count * PanelHeight : PanelHeight);
    }
}
