// A table of results as the reports hold it, before any rendering: Markdown lays it out as text
// here, the CLI draws it on the console (Spectre), so both show the same cells.

using System.Text;

namespace IlgpuVit.Experiments;

/// <summary>A titled table of formatted cells.</summary>
/// <param name="Title">What the table shows.</param>
/// <param name="Header">The column names.</param>
/// <param name="Rows">The cells, one array per row, numbers already formatted (invariant culture).</param>
/// <param name="Caption">A line under the table (how it was measured), or null.</param>
public sealed record ResultTable(string Title, IReadOnlyList<string> Header, IReadOnlyList<string[]> Rows, string? Caption = null)
{
    /// <summary>The header, the separator and the rows as Markdown table lines (the title is the caller's to place).</summary>
    public string MarkdownRows()
    {
        var text = new StringBuilder("| ").AppendJoin(" | ", Header).Append(" |\n");
        text.Append('|').AppendJoin("", Header.Select(_ => "---|")).Append('\n');
        foreach (var row in Rows) text.Append("| ").AppendJoin(" | ", row).Append(" |\n");
        return text.ToString();
    }
}
