// `ilgpuvit experiment CONFIG`: trains the grid an experiment file describes (ExperimentConfig),
// skipping finished runs and resuming interrupted ones, measures every checkpoint, and writes the
// tables and plots (IlgpuVit.Experiments: ExperimentRunner, ExperimentReport) into runs/<name> or
// --out. Running it again once everything has finished only rebuilds the reports. --plan lists the
// runs and inference specs and stops; --run ID trains (or resumes) only the named runs, so any row of
// a results table can be reproduced with one command.
// Ctrl-C stops the run under way with a checkpoint of its last step (StopSignal).

using System.CommandLine;
using IlgpuVit.Experiments;
using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal static class ExperimentCommand
{
    public static Command Create() => Create(null);

    /// <summary>The command, training each run with <paramref name="train"/> (tests pass a fake; null: TrainingRun, stopped by Ctrl-C).</summary>
    internal static Command Create(Func<RunSettings, RunSummary>? train)
    {
        var file = new Argument<string>("config") { Description = "The experiment file (JSON; see configs/ and the header of ExperimentConfig.cs)." };
        var output = new Option<string?>("--out") { Description = "Experiment folder (default runs/<name of the experiment>)." };
        var plan = new Option<bool>("--plan") { Description = "Check the file, list the runs and inference specs, and stop." };
        var init = new Option<string?>("--init") { Description = "Fine-tune: start every run from this checkpoint of the experiment's model (head kept); overrides the file's \"init\"." };
        var only = new Option<string[]>("--run")
        {
            Description = "Train (or resume) only these runs (ids as --plan lists them, e.g. etps-gas-s1), with no timing or report: one row of the tables, reproduced.",
            AllowMultipleArgumentsPerToken = true,
        };
        var device = CommonOptions.Device();
        var command = new Command("experiment", "Train a grid of token-reduction runs from a file (resumable), measure them, and write results tables and plots.")
            { file, output, plan, init, only, device };
        command.SetAction(r => CommonOptions.Guard(() =>
        {
            var config = ExperimentConfig.Load(r.GetValue(file)!);
            if (r.GetValue(init) is { } checkpoint) config = config.WithInit(checkpoint);
            string folder = r.GetValue(output) ?? Path.Combine("runs", config.Name);
            if (r.GetValue(plan)) return Plan(config, folder);
            using var stop = StopSignal.Listen();
            var runner = new ExperimentRunner(config, folder, r.GetValue(device)!,
                train ?? (settings => TrainingRun.Execute(settings, new TrainingProgress(quiet: false), stop.Token)), Console.Out);
            var ids = r.GetValue(only) ?? [];
            ExperimentReport report;
            try
            {
                if (ids.Length > 0)
                {
                    foreach (var (run, summary) in runner.Train(ids))
                        Console.WriteLine($"{run.Id}: test accuracy {summary.TestAccuracy:P2}, {summary.MacsPerImage / 1e9:G4} GMACs per image, " +
                                          $"final {summary.Method}, in {Path.GetFullPath(Path.Combine(folder, run.Id))}");
                    return 0;
                }
                report = runner.Run();
            }
            catch (TrainingInterruptedException e)
            {
                Console.Error.WriteLine($"{e.Message}\nRun the same experiment command again to resume: finished runs are kept, this one continues from its checkpoint.");
                return StopSignal.ExitCode;
            }
            report.Write(folder);
            Print(report);
            AnsiConsole.MarkupLine($"{runner.Trained} runs trained, {runner.Measured} measured now; wrote {string.Join(", ", ExperimentReport.FileNames)} " +
                                   $"to {Markup.Escape(Path.GetFullPath(folder))}");
            return 0;
        }));
        return command;
    }

    /// <summary>Prints the report's tables (those of results.md), each titled with the experiment's name.</summary>
    private static void Print(ExperimentReport report)
    {
        var console = ConsoleTables.Current();
        foreach (var table in report.Tables()) ConsoleTables.Write(console, table with { Title = $"{report.Config.Name}: {table.Title}" });
    }

    private static int Plan(ExperimentConfig config, string folder)
    {
        var runs = ExperimentPlan.Runs(config);
        Console.WriteLine($"{config.Name}: {runs.Count} training runs of {config.Model} on {config.Data}, {config.Training.Epochs} epochs each" +
                          (config.Init is null ? "" : $", fine-tuned from {config.Init}") + $", into {folder}");
        foreach (var run in runs)
        {
            bool done = File.Exists(Path.Combine(folder, run.Id, ExperimentRunner.SummaryFile));
            Console.WriteLine($"  {run.Id,-24} {run.Spec}{(run.Adjusted ? $" (adjust {run.Adjust})" : "")}{(done ? "  [finished]" : "")}");
        }
        var points = ExperimentPlan.Inference(config);
        if (points.Count > 0)
            Console.WriteLine($"inference on each baseline: {string.Join(", ", points.Select(p => p.Spec))}");
        return 0;
    }
}
