// The live view of a training run: a Spectre progress bar over all steps with epoch, step, loss,
// learning rate, pruning rate (when adjusted), images/s and ETA; plain lines when the output is not a
// terminal (CI logs); nothing with --json.

using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal sealed class TrainingProgress(bool quiet) : ITrainingObserver
{
    public void Run(Trainer trainer, Action<Action<StepResult, double, double>> body)
    {
        int total = trainer.TotalSteps;
        if (quiet) { body((_, _, _) => { }); return; }
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            int every = Math.Max(1, trainer.Loader.BatchesPerEpoch / 5);
            body((s, speed, rate) =>
            {
                if (s.Step % every == 0 || s.Step == total) Console.WriteLine(Describe(trainer, s, speed, rate));
            });
            return;
        }
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: total);
                task.Value = trainer.Optimizer.StepCount;
                body((s, speed, rate) =>
                {
                    task.Description = Describe(trainer, s, speed, rate);
                    task.Value = s.Step;
                });
            });
    }

    public void Epoch(Trainer trainer, int epoch, EvaluationResult result)
    {
        if (!quiet) AnsiConsole.MarkupLine($"epoch {epoch}/{trainer.Options.Epochs}: test accuracy [bold]{result.Accuracy:P2}[/], test loss {result.Loss:F4}, " +
            $"{result.MacsPerImage / 1e9:F4} GMACs per image");
    }

    /// <summary>The import report of --init: on the console, or on stderr with --json (stdout carries only the JSON).</summary>
    public void Imported(IlgpuVit.IO.ImportReport report)
    {
        if (quiet) Console.Error.WriteLine(report.ToString());
        else AnsiConsole.WriteLine(report.ToString());
    }

    /// <summary>A note for the user (a stale lock taken over, a numbered run folder): on stderr, so --json's stdout stays JSON.</summary>
    public void Note(string message)
    {
        AnsiConsole.Console.Profile.Out.Writer.Flush();
        Console.Error.WriteLine($"note: {message}");
    }

    private static string Describe(Trainer trainer, StepResult s, double speed, double rate)
    {
        double eta = (trainer.TotalSteps - s.Step) * trainer.Options.BatchSize / Math.Max(speed, 1e-9);
        string pruning = trainer.Options.Adjust.Trim() == "none" ? "" : $"rate {rate:F3} ";
        int world = trainer.Communicator.Size;
        // Data-parallel: the world size, then images/s per rank and for the whole group (speed counts the global batches).
        string rates = world == 1 ? $"{speed:F0} img/s" : $"{world} ranks {speed / world:F0} img/s/rank {speed:F0} img/s";
        return $"epoch {s.Epoch + 1}/{trainer.Options.Epochs} step {s.Step}/{trainer.TotalSteps} loss {s.Loss:F4} lr {s.LearningRate:0.0e+0} " +
               $"{pruning}{rates} ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}";
    }
}
