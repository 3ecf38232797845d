// Draws a report's ResultTable on the console with Spectre, one style for every table the CLI prints
// (the experiment's results, `eval --weights`): a title, right-aligned columns, an optional caption.

using IlgpuVit.Experiments;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class ConsoleTables
{
    /// <summary>Writes <paramref name="result"/> to <paramref name="console"/>, every text escaped (cells hold brackets).</summary>
    public static void Write(IAnsiConsole console, ResultTable result)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(result.Title)) };
        if (result.Caption is not null) table.Caption = new TableTitle(Markup.Escape(result.Caption));
        foreach (var name in result.Header) table.AddColumn(new TableColumn(Markup.Escape(name)).RightAligned());
        foreach (var row in result.Rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        console.Write(table);
    }
}
