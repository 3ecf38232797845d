// The live view of a training run: a Spectre progress bar over all steps with epoch, step, loss,
// learning rate, images/s and ETA; plain lines when the output is not a terminal (CI logs); nothing
// with --json.

using IlgpuVit.Training;
using Spectre.Console;

namespace IlgpuVit.Cli;

internal sealed class TrainingProgress(Trainer trainer, bool quiet)
{
    public delegate void Report(StepResult step, double imagesPerSecond);

    public void Run(Action<Report> body)
    {
        int total = trainer.TotalSteps;
        if (quiet) { body((_, _) => { }); return; }
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            int every = Math.Max(1, trainer.Loader.BatchesPerEpoch / 5);
            body((s, rate) =>
            {
                if (s.Step % every == 0 || s.Step == total) Console.WriteLine(Describe(s, rate));
            });
            return;
        }
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask("starting", maxValue: total);
                task.Value = trainer.Optimizer.StepCount;
                body((s, rate) =>
                {
                    task.Description = Describe(s, rate);
                    task.Value = s.Step;
                });
            });
    }

    public void Epoch(int epoch, EvaluationResult result)
    {
        if (!quiet) AnsiConsole.MarkupLine($"epoch {epoch}/{trainer.Options.Epochs}: test accuracy [bold]{result.Accuracy:P2}[/], test loss {result.Loss:F4}");
    }

    private string Describe(StepResult s, double rate)
    {
        double eta = (trainer.TotalSteps - s.Step) * trainer.Options.BatchSize / Math.Max(rate, 1e-9);
        return $"epoch {s.Epoch + 1}/{trainer.Options.Epochs} step {s.Step}/{trainer.TotalSteps} loss {s.Loss:F4} lr {s.LearningRate:0.0e+0} " +
               $"{rate:F0} img/s ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}";
    }
}
