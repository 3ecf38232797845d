// Draws a report's ResultTable on the console with Spectre, one style for every table the CLI prints
// (the experiment's results, the latency sweep, `eval --weights`): a title, right-aligned columns, an
// optional caption.

using IlgpuVit.Experiments;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class ConsoleTables
{
    /// <summary>
    /// Spectre bound to the current Console.Out (tests swap it). Redirected output (logs, CI) would
    /// otherwise be wrapped at 80 columns, one cell over several lines, so it is made wide.
    /// </summary>
    public static IAnsiConsole Current()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        if (Console.IsOutputRedirected) console.Profile.Width = Math.Max(console.Profile.Width, 200);
        return console;
    }

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
