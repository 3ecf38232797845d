// `ilgpuvit info`: the accelerators ILGPU finds here and the one a run would use by default.
using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Runtime;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class InfoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON for scripts instead of a table." };
        var command = new Command("info", "List the accelerators found (type, name, memory, cores or SMs) and the default choice.") { json };
        command.SetAction(result => Run(result.GetValue(json)));
        return command;
    }

    private static int Run(bool json)
    {
        var devices = Device.List();
        var chosen = devices.OrderBy(d => d.Backend).First();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                devices = devices.Select(d => new { spec = d.Spec, backend = d.Backend.ToString(), d.Name, memoryBytes = d.MemoryBytes, computeUnits = d.ComputeUnits, maxGroupSize = d.MaxGroupSize }),
                @default = chosen.Spec,
            }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase }));
            return 0;
        }
        var table = new Table().AddColumns("device", "backend", "name", "memory", "cores / SMs", "max group", "default");
        foreach (var d in devices)
            table.AddRow(d.Spec, d.Backend.ToString(), Markup.Escape(d.Name), $"{d.MemoryBytes / (double)(1L << 30):0.0} GiB",
                d.ComputeUnits.ToString(), d.MaxGroupSize.ToString(), d == chosen ? "[green]yes[/]" : "");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Default device: [bold]{chosen.Spec}[/] ({Markup.Escape(chosen.Name)}). Choose another with --device cpu|cuda[[:N]]|opencl[[:N]].");
        return 0;
    }
}
