// The one JSON style of every report written for people and scripts: run summaries, the CLI's --json,
// an experiment's files (settings, measurements, results). Indented and camelCase, with NaN and
// ±Infinity as null (NonFiniteAsNullConverter), so a diverged number never crashes the report.

using System.Text.Json;

namespace IlgpuVit.Metrics;

/// <summary>The serializer options of every JSON report.</summary>
public static class ReportJson
{
    /// <summary>Indented, camelCase, non-finite numbers as null (read back as NaN).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, Converters = { NonFiniteAsNullConverter.Instance },
    };
}
