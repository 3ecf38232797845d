// What `eval --weights` reports: the import's summary, one table with a row per reduction spec (top-1,
// top-5, GMACs per image and their change, median latency (p10-p90) and its change against the
// unpruned model timed in the same call), the images skipped, and whether a spec's numbers are not
// finite. The CLI draws the table (in the style of the experiment tables) and the lines under it;
// --json prints ToJson instead (a non-finite number as null, each row with its nonFinite flag).

using System.Globalization;
using IlgpuVit.Images;
using IlgpuVit.IO;

namespace IlgpuVit.Experiments;

/// <summary>The outcome of `eval --weights`.</summary>
/// <param name="Weights">The weights file.</param>
/// <param name="Model">The architecture.</param>
/// <param name="Classes">Classes of the model's head.</param>
/// <param name="Data">The image folder (full path).</param>
/// <param name="Device">Where it ran.</param>
/// <param name="Images">Images evaluated.</param>
/// <param name="Skipped">Images that could not be read (corrupt, truncated), in folder order.</param>
/// <param name="LatencyBatch">Images per timed forward.</param>
/// <param name="LatencyRuns">Timed forwards per spec.</param>
/// <param name="Import">What the weight import did.</param>
/// <param name="Rows">One row per spec, in the order asked.</param>
public sealed record PretrainedEvalReport(string Weights, string Model, int Classes, string Data, string Device, int Images,
    IReadOnlyList<ImageLoadFailure> Skipped, int LatencyBatch, int LatencyRuns, ImportReport Import, IReadOnlyList<PretrainedEvalRow> Rows)
{
    private static readonly string[] Header = ["method", "top-1", "top-5", "GMACs", "FLOPs Δ", "transformer GMACs", "latency ms (p10-p90)", "latency Δ"];

    /// <summary>The table: a row per spec, numbers in the invariant culture, titled with what was evaluated and captioned with how latency was measured.</summary>
    public ResultTable Table() => new($"{Model} on {Data}: {Images} images, {Skipped.Count} skipped", Header, Rows.Select(r => new[]
    {
        r.Method, Percent(r.Top1), Percent(r.Top5), Number(r.GmacsPerImage, "0.000"), Signed(r.FlopsChangePercent), Number(r.TransformerGmacsPerImage, "0.000"),
        $"{Number(r.LatencyMs, "0.00")} ({Number(r.LatencyP10Ms, "0.00")}-{Number(r.LatencyP90Ms, "0.00")})", Signed(r.LatencyChangePercent),
    }).ToArray(), $"latency: median of {LatencyRuns} runs of a batch of {LatencyBatch} on {Device}, specs interleaved; Δ against none");

    /// <summary>The report as one object for --json.</summary>
    public object ToJson() => new
    {
        weights = Weights, model = Model, classes = Classes, data = Data, device = Device, images = Images, skipped = Skipped.Count,
        skippedImages = Skipped.Select(f => new { path = f.Path, reason = f.Reason }), latencyBatch = LatencyBatch, latencyRuns = LatencyRuns,
        import = new
        {
            layout = Import.Layout.ToString(), loaded = Import.Loaded.Count, skipped = Import.Skipped.Select(k => k.FileKey),
            converted = Import.Converted.Count, notes = Import.Notes,
        },
        rows = Rows,
    };

    private static string Percent(double fraction) => (100 * fraction).ToString("0.00", CultureInfo.InvariantCulture) + "%";

    private static string Number(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static string Signed(double percent) => percent.ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + "%";
}
