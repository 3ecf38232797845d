// What a latency sweep leaves behind: one table built once and rendered twice (Markdown file and
// the CLI's console table, both from Table()), every row as CSV and JSON, and the plot (SweepPlot). Numbers
// are written in the invariant culture; GMACs are multiply-accumulates (docs/flops.md), and changes are
// percentages against the baseline row of the same run.

using System.Globalization;
using System.Text;
using System.Text.Json;
using IlgpuVit.IO;
using IlgpuVit.Metrics;

namespace IlgpuVit.Experiments;

/// <summary>A finished sweep and where it ran.</summary>
public sealed record SweepReport(string Model, int Batch, string Device, int Runs, bool Profile, IReadOnlyList<SweepRow> Rows)
{
    /// <summary>The files <see cref="Write"/> creates in its folder.</summary>
    public static readonly string[] FileNames = ["sweep.md", "sweep.csv", "sweep.json", "sweep.png"];

    /// <summary>Writes sweep.md, sweep.csv, sweep.json and sweep.png into <paramref name="folder"/> (created if missing).</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteText(Path.Combine(folder, "sweep.md"), Markdown());
        AtomicFile.WriteText(Path.Combine(folder, "sweep.csv"), Csv());
        AtomicFile.WriteText(Path.Combine(folder, "sweep.json"), JsonSerializer.Serialize(this, ReportJson.Options));
        SweepPlot.Save(this, Path.Combine(folder, "sweep.png"));
    }

    /// <summary>The table as Markdown, under a line naming the model, batch, device and runs.</summary>
    public string Markdown() => $"{Title}\n\n" + Table().MarkdownRows();

    /// <summary>Every field of every row, one row per line, tokens after each block space-separated.</summary>
    public string Csv()
    {
        var text = new StringBuilder("method,spec,rate,medianMs,p10Ms,p90Ms,gmacsPerImage,flopsChangePercent,latencyChangePercent," +
                                     "latencyPerFlopsChange,tokensAfterLastBlock,tokensAfterLayer,reductionMs,reductionSharePercent\n");
        foreach (var r in Rows)
            text.AppendJoin(',', r.Method, r.Spec, N(r.Rate), N(r.MedianMs), N(r.P10Ms), N(r.P90Ms), N(r.GmacsPerImage), N(r.FlopsChangePercent),
                N(r.LatencyChangePercent), N(r.LatencyPerFlopsChange), r.TokensAfterLastBlock, string.Join(' ', r.TokensAfterLayer),
                N(r.ReductionMs), N(r.ReductionSharePercent)).Append('\n');
        return text.ToString();
    }

    private string Title => $"{Model} batch {Batch} on {Device}, {Runs} runs per point (GMACs = multiply-accumulates per image; changes vs the baseline of this run)";

    /// <summary>The rows as one table (the cost columns only when profiled), for Markdown and the console alike.</summary>
    public ResultTable Table()
    {
        string[] header = ["method", "spec", "rate", "median ms", "p10 ms", "p90 ms", "GMACs/img", "FLOPs %", "latency %", "latency/FLOPs", "tokens out"];
        if (Profile) header = [.. header, "reduction ms", "reduction %"];
        var cells = Rows.Select(r =>
        {
            string[] row = [r.Method, r.Spec, F(r.Rate, "0.###"), F(r.MedianMs, "F1"), F(r.P10Ms, "F1"), F(r.P90Ms, "F1"), F(r.GmacsPerImage, "F3"),
                F(r.FlopsChangePercent, "+0.0;-0.0;0.0"), F(r.LatencyChangePercent, "+0.0;-0.0;0.0"), F(r.LatencyPerFlopsChange, "F2"),
                r.TokensAfterLastBlock.ToString(CultureInfo.InvariantCulture)];
            return Profile ? [.. row, F(r.ReductionMs, "F2"), F(r.ReductionSharePercent, "F1")] : row;
        }).ToArray();
        return new ResultTable(Title, header, cells);
    }

    private static string F(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "-";

    private static string N(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
}
