// `ilgpuvit bench latency`: inference latency of a model with a reduction method, over randomly
// initialised weights and random images (LatencyBenchmark): median, p10 and p90 over the timed runs
// after warm-up, the per-image GMACs counted from the token counts that ran (docs/flops.md), and those
// counts. --sweep measures a grid of methods x rates instead (LatencySweep) and writes a table, CSV,
// JSON and a plot; --profile adds the reduction step's own time and its share of the forward.
// --batch and --runs are checked before anything is built (at least 1 image, at least 10 runs for
// the percentiles); the warm-up is fixed (LatencyBenchmark). `ilgpuvit bench allreduce` checks and times the
// all-reduce of data-parallel training over MPI (start it under mpirun; docs/distributed.md).

using System.CommandLine;
using System.Text.Json;
using IlgpuVit.Experiments;
using IlgpuVit.Metrics;
using IlgpuVit.Nn;
using IlgpuVit.Reduction;
using IlgpuVit.Runtime;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class BenchCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = $"Model: {string.Join(", ", ModelRegistry.Names)}.", DefaultValueFactory = _ => "vit_small_patch16_224" };
        var batch = new Option<int>("--batch") { Description = "Images per forward.", DefaultValueFactory = _ => 8 };
        var method = new Option<string>("--method") { Description = "Reduction: none, or METHOD:RATE such as topk:rate=0.06.", DefaultValueFactory = _ => "none" };
        var runs = new Option<int>("--runs") { Description = $"Timed runs after warm-up (at least {LatencyBenchmark.MinimumRuns}).", DefaultValueFactory = _ => 20 };
        var json = new Option<string?>("--json") { Description = "Also write the result as JSON to this file." };
        var profile = new Option<bool>("--profile") { Description = "Also time the reduction step (accelerator synchronised around each block's reducer) in separate runs, and its share of the forward." };
        var sweep = new Option<bool>("--sweep") { Description = "Measure a grid of --methods x --rates (plus the unpruned baseline) and write sweep.md, .csv, .json and .png to --out." };
        var methods = new Option<string?>("--methods") { Description = $"Sweep: comma-separated methods (default: all of {string.Join(", ", ReductionMethod.Names.Where(n => n != "none"))})." };
        var rates = new Option<string?>("--rates") { Description = $"Sweep: comma-separated pruning rates in [0, 1), each measured as METHOD:rate=P (default {LatencySweep.DefaultRates})." };
        var output = new Option<string?>("--out") { Description = "Sweep: folder for sweep.md, sweep.csv, sweep.json and sweep.png (default ./sweep)." };
        var device = CommonOptions.Device();
        var latency = new Command("latency", "Inference latency, GMACs and token counts of a model with a reduction method, or a sweep over methods and rates.")
            { model, batch, method, runs, json, profile, sweep, methods, rates, output, device };
        latency.SetAction(r => CommonOptions.Guard(() =>
        {
            var (modelName, batchSize, runCount, deviceSpec) = (r.GetValue(model)!, r.AtLeast(batch, 1), r.AtLeast(runs, LatencyBenchmark.MinimumRuns), r.GetValue(device)!);
            if (!r.GetValue(sweep))
            {
                if (r.GetValue(methods) is not null || r.GetValue(rates) is not null || r.GetValue(output) is not null)
                    throw new ArgumentException("--methods, --rates and --out belong to --sweep; a single measurement takes --method.");
                return Latency(modelName, batchSize, r.GetValue(method)!, runCount, r.GetValue(json), r.GetValue(profile), deviceSpec);
            }
            if (r.GetValue(method) != "none" || r.GetValue(json) is not null)
                throw new ArgumentException("--sweep takes --methods and --rates instead of --method, and writes its JSON to --out.");
            return Sweep(modelName, batchSize, r.GetValue(methods), r.GetValue(rates) ?? LatencySweep.DefaultRates, runCount,
                r.GetValue(output) ?? "sweep", r.GetValue(profile), deviceSpec);
        }));
        return new Command("bench", "Benchmarks of whole models, and of the all-reduce of data-parallel training.") { latency, AllReduce() };
    }

    private static Command AllReduce()
    {
        var sizes = new Option<string?>("--sizes") { Description = "Comma-separated floats per all-reduce (default 1K to 16M by powers of 4)." };
        var runs = new Option<int>("--runs") { Description = "Timed runs per size.", DefaultValueFactory = _ => 20 };
        var check = new Option<bool>("--check") { Description = "Only check: odd sizes, an empty buffer and one over a 1,000-float message limit; exit 1 on a wrong sum." };
        var json = new Option<string?>("--json") { Description = "Also write the timings as JSON to this file (rank 0)." };
        var command = new Command("allreduce", "All-reduce bandwidth over MPI (mpirun -np N ilgpuvit bench allreduce), after checking its sums.") { sizes, runs, check, json };
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            var list = r.GetValue(sizes) is { } s ? s.Split(',').Select(x => long.TryParse(x.Trim(), out long n) && n >= 1 ? n
                : throw new ArgumentException($"--sizes: '{x}' is not a float count of at least 1.")).ToArray() : AllReduceBenchmark.DefaultSizes;
            int runCount = r.AtLeast(runs, 1);
            using var world = Mpi.MpiCommunicator.World();
            world.MaxMessageFloats = 1000;
            var errors = AllReduceBenchmark.Check(world, 2500);
            world.MaxMessageFloats = 1 << 26;
            foreach (var e in errors) Console.Error.WriteLine($"error: {e}");
            if (!Training.Collectives.Any(world, errors.Count > 0) && world.Rank == 0) Console.WriteLine($"all-reduce check passed on {world.Size} ranks (0, 1, 31, 33, 197 and 2,500 floats, 1,000 per message)");
            if (errors.Count > 0) return 1;
            if (r.GetValue(check)) return 0;
            var timings = AllReduceBenchmark.Measure(world, list, runCount);
            if (world.Rank != 0) return 0;
            Console.WriteLine($"{"floats",12} {"bytes",12} {"us",10} {"algbw GB/s",11} {"busbw GB/s",11}");
            foreach (var t in timings) Console.WriteLine($"{t.Floats,12} {t.Floats * 4,12} {t.Microseconds,10:F1} {t.AlgorithmGBps,11:F3} {t.BusGBps,11:F3}");
            if (r.GetValue(json) is { } path) File.WriteAllText(path, JsonSerializer.Serialize(new { ranks = world.Size, timings }, ReportJson.Options));
            return 0;
        }));
        return command;
    }

    private static int Latency(string modelName, int batch, string methodSpec, int runs, string? jsonPath, bool profile, string deviceSpec)
    {
        var config = ModelRegistry.Get(modelName);
        ReductionMethod.Parse(methodSpec, config.Depth);        // a bad spec fails before the device opens
        using var device = Device.Open(deviceSpec);
        using var bench = new LatencyBenchmark(config, device, batch, runs);
        var result = bench.Measure(methodSpec, profile);
        if (jsonPath is not null) File.WriteAllText(jsonPath, JsonSerializer.Serialize(result, ReportJson.Options));
        AnsiConsole.MarkupLine(Line(result));
        return 0;
    }

    private static int Sweep(string modelName, int batch, string? methods, string rates, int runs, string folder, bool profile, string deviceSpec)
    {
        var config = ModelRegistry.Get(modelName);
        var plan = LatencySweep.Plan(config, methods, rates);
        using var device = Device.Open(deviceSpec);
        using var bench = new LatencyBenchmark(config, device, batch, runs);
        AnsiConsole.MarkupLine($"[grey]Measuring {plan.Count} specs, {runs} timed runs each, interleaved{(profile ? ", then profiling each" : "")}...[/]");
        var rows = LatencySweep.Run(bench, plan, profile);
        var report = new SweepReport(config.Name, batch, device.Info.Spec, runs, profile, rows);
        report.Write(folder);
        ConsoleTables.Write(ConsoleTables.Current(), report.Table());
        AnsiConsole.MarkupLine($"Wrote {string.Join(", ", SweepReport.FileNames)} to {Markup.Escape(Path.GetFullPath(folder))}");
        return 0;
    }

    private static string Line(LatencyMeasurement r)
    {
        var line = $"{r.Model} batch {r.Batch} [bold]{Markup.Escape(r.Method)}[/] on {r.Device}: median {r.MedianMs:F1} ms " +
                   $"(p10 {r.P10Ms:F1}, p90 {r.P90Ms:F1}, {r.Runs} runs), {r.GmacsPerImage:F2} GMACs per image ({r.FlopsChangePercent:+0.0;-0.0}%), " +
                   $"tokens after each block: {string.Join(" ", r.TokensAfterLayer)}";
        return r.Profile is { } p
            ? line + $"; reduction {p.ReductionMs:F2} ms of a {p.ForwardMs:F1} ms profiled forward ({p.SharePercent:F1}%)"
            : line;
    }
}
