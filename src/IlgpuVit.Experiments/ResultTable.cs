// A table of results as the reports hold it, before any rendering: the Markdown writer lays it out
// as text, the CLI draws it on the console (Spectre), so both show the same cells.

namespace IlgpuVit.Experiments;

/// <summary>A titled table of formatted cells.</summary>
/// <param name="Title">What the table shows.</param>
/// <param name="Header">The column names.</param>
/// <param name="Rows">The cells, one array per row, numbers already formatted (invariant culture).</param>
/// <param name="Caption">A line under the table (how it was measured), or null.</param>
public sealed record ResultTable(string Title, IReadOnlyList<string> Header, IReadOnlyList<string[]> Rows, string? Caption = null);
