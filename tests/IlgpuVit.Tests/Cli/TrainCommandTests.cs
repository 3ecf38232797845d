// `ilgpuvit train` never loses or mixes up a run (docs/runs.md): a new run into a folder holding one
// is refused and changes nothing (or replaces it with --overwrite); a folder another run holds is
// refused naming the holder; --resume alone restores every setting, writes beside the checkpoint and
// ends exactly where the uninterrupted run ends; a flag that would change the resumed run is refused;
// stale temporary files go; I/O failures and bad numbers are one line. Small runs on Fashion-MNIST
// (160 training images, batches of 32: 5 steps an epoch). These swap Console.Out and Console.Error.
using System.CommandLine;
using System.Text.Json;
using FluentAssertions;
using IlgpuVit.Cli;
using IlgpuVit.Data;
using IlgpuVit.IO;
using IlgpuVit.Tests.Support;
using IlgpuVit.Training;

namespace IlgpuVit.Tests.Cli;

[Collection(nameof(SwapsConsole))]
public sealed class TrainCommandTests : IDisposable
{
    private static readonly string[] Small = ["--train-limit", "160", "--test-limit", "32", "--batch-size", "32", "--device", "cpu", "--json"];
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static (int Code, string Output, string Error) Train(params string[] args) => PretrainedFixtures.Invoke(TrainCommand.Create(), ["train", .. args]);


    private static string OneLine(string error)
    {
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        lines.Should().ContainSingle("a user's mistake is one line, not a stack trace");
        return lines[0];
    }

    private string FinishedRun(string name, params string[] extra)
    {
        string run = _temp.File(name);
        var (code, _, error) = Train([.. Small, "--epochs", "2", "--out", run, .. extra]);
        code.Should().Be(0, error);
        return run;
    }

    [SkippableFact]
    public void A_new_run_into_a_folder_holding_a_run_is_refused_and_changes_nothing_unless_overwrite()
    {
        TrainingRuns.RequireFashionMnist();
        string run = FinishedRun("run");
        var before = FileHashes.Of(run);
        var (code, output, error) = Train([.. Small, "--out", run, "--epochs", "1"]);
        code.Should().Be(1);
        output.Should().BeEmpty();
        OneLine(error).Should().Be($"error: {run} holds a run (a checkpoint at step 10): pass --overwrite to replace it, " +
                                   $"--resume {Path.Combine(run, "checkpoint.safetensors")} to continue it, or give another folder.");
        FileHashes.Of(run).Should().Equal(before, "a refused run writes nothing");

        (code, _, error) = Train([.. Small, "--out", run, "--epochs", "1", "--overwrite"]);
        code.Should().Be(0, error);
        TrainingCheckpoint.ReadInfo(Path.Combine(run, "checkpoint.safetensors")).Step.Should().Be(5, "the new one-epoch run replaced the old one");
        File.ReadLines(Path.Combine(run, "metrics.jsonl")).Count(l => l.Contains("\"event\":\"start\"")).Should().Be(1, "the old log went with it");
    }

    [SkippableFact]
    public void A_folder_another_run_holds_is_refused_naming_the_holder()
    {
        TrainingRuns.RequireFashionMnist();
        string run = FinishedRun("run");
        var before = FileHashes.Of(run);
        using (RunFolder.Acquire(run))
        {
            var (code, _, error) = Train([.. Small, "--epochs", "2", "--out", run, "--overwrite"]);
            code.Should().Be(1);
            OneLine(error).Should().StartWith($"error: {run} is in use by another run (process {Environment.ProcessId} on {Environment.MachineName}, started ");
            (code, _, error) = Train("--resume", Path.Combine(run, "checkpoint.safetensors"), "--json");
            code.Should().Be(1);
            OneLine(error).Should().Contain("is in use by another run");
        }
        FileHashes.Of(run).Where(f => !f.Key.StartsWith(".ilgpuvit")).Should().Equal(before.Where(f => !f.Key.StartsWith(".ilgpuvit")));
    }

    /// <summary>Cancels a library run after <paramref name="step"/>: the interrupt's checkpoint holds that step.</summary>
    private sealed class StopAfter(int step, CancellationTokenSource stop) : ITrainingObserver
    {
        public void Run(Trainer trainer, Action<Action<StepResult, double, double>> body) => body((s, _, _) => { if (s.Step == step) stop.Cancel(); });

        public void Epoch(Trainer trainer, int epoch, EvaluationResult result) { }
    }

    private static RunSettings LibrarySettings(string folder) => new("vit_micro_patch4_28", "fashion-mnist", null,
        new TrainingOptions { Epochs = 2, BatchSize = 32, Method = "etps", Adjust = "gas", Gas = new GasOptions { WindowEpochs = 0.4 } },
        folder, TrainLimit: 160, TestLimit: 32, Device: "cpu");


    [SkippableFact]
    public void Resume_alone_restores_every_setting_writes_beside_the_checkpoint_and_ends_where_the_whole_run_ends()
    {
        TrainingRuns.RequireFashionMnist();
        var whole = TrainingRun.Execute(LibrarySettings(_temp.File("whole")));
        using var stop = new CancellationTokenSource();
        var interrupted = () => TrainingRun.Execute(LibrarySettings(_temp.File("parts")), new StopAfter(3, stop), stop.Token);
        interrupted.Should().Throw<TrainingInterruptedException>().Which.Step.Should().Be(3);
        string checkpoint = Path.Combine(_temp.File("parts"), "checkpoint.safetensors");
        TrainingCheckpoint.ReadInfo(checkpoint).Step.Should().Be(3, "mid-epoch: the interrupt wrote the step it finished");
        string stale = Path.Combine(_temp.File("parts"), ".checkpoint.safetensors.tmp-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(stale, "what a kill mid-write leaves");

        var (code, output, error) = Train("--resume", checkpoint, "--json", "--device", "cpu");
        code.Should().Be(0, error);
        error.Should().Contain("removed 1 temporary file(s) of an interrupted write");
        File.Exists(stale).Should().BeFalse();
        var summary = JsonDocument.Parse(output).RootElement;
        summary.GetProperty("checkpoint").GetString().Should().Be(Path.GetFullPath(checkpoint), "the run continues beside its checkpoint");
        summary.GetProperty("steps").GetInt32().Should().Be(10);
        summary.GetProperty("testAccuracy").GetDouble().Should().Be(whole.TestAccuracy);
        summary.GetProperty("method").GetString().Should().Be(whole.Method, "the adjuster's state was restored mid-window");
        var start = File.ReadLines(Path.Combine(_temp.File("parts"), "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Last(e => e.GetProperty("event").GetString() == "start");
        start.GetProperty("trainImages").GetInt32().Should().Be(160, "--train-limit came from the checkpoint");
        start.GetProperty("testImages").GetInt32().Should().Be(32);
        File.ReadAllBytes(checkpoint).Should().Equal(File.ReadAllBytes(whole.Checkpoint), "weights, moments, rate and adjuster state match bit for bit");
        TrainingRuns.Events(Path.Combine(_temp.File("parts"), "metrics.jsonl")).Should().Equal(TrainingRuns.Events(whole.Metrics));
    }

    [SkippableFact]
    public void A_flag_that_would_change_a_resumed_run_is_refused_naming_it_and_a_repeated_one_is_accepted()
    {
        TrainingRuns.RequireFashionMnist();
        string run = FinishedRun("run", "--lr", "0.001");
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        var before = FileHashes.Of(run);
        foreach (var (flag, value, recorded) in new[] { ("--train-limit", "320", "160"), ("--lr", "0.002", "0.001"), ("--data", "cifar10", "fashion-mnist"),
                                                           ("--out", _temp.File("elsewhere"), run) })
        {
            var (code, _, error) = Train("--resume", checkpoint, flag, value);
            code.Should().Be(1, flag);
            OneLine(error).Should().Be($"error: {flag} {value} would change the run being resumed, whose checkpoint says {recorded}: --resume takes every " +
                                       "setting from the checkpoint (only --device, --json, --checkpoint-every and --allow-nonfinite may be added).");
        }
        FileHashes.Of(run).Should().Equal(before);
        var (ok, output, err) = Train("--resume", checkpoint, "--lr", "0.001", "--train-limit", "160", "--json", "--device", "cpu");
        ok.Should().Be(0, err);
        JsonDocument.Parse(output).RootElement.GetProperty("steps").GetInt32().Should().Be(10, "a finished run resumed is only evaluated again");
    }

    [SkippableFact]
    public void Resuming_non_finite_weights_is_refused_naming_the_tensor_or_says_the_weights_were_the_cause()
    {
        TrainingRuns.RequireFashionMnist();
        // A run stopped at step 3, its checkpoint copied with a NaN planted in it into a folder of its own.
        using var stop = new CancellationTokenSource();
        FluentActions.Invoking(() => TrainingRun.Execute(LibrarySettings(_temp.File("parts")), new StopAfter(3, stop), stop.Token))
            .Should().Throw<TrainingInterruptedException>();
        Directory.CreateDirectory(_temp.File("bad"));
        string bad = IO.CorruptWeights.Copy(Path.Combine(_temp.File("parts"), "checkpoint.safetensors"), Path.Combine(_temp.File("bad"), "checkpoint.safetensors"),
            "blocks.2.mlp.fc1.weight", (7, float.NaN));
        var before = FileHashes.Of(_temp.File("bad"));
        var (code, _, error) = Train("--resume", bad, "--json");
        code.Should().Be(1);
        OneLine(error).Should().Be($"error: {bad}: tensor 'blocks.2.mlp.fc1.weight' holds 1 non-finite value (first: NaN at index 7); the weights are corrupt. " +
                                   "Pass --allow-nonfinite (AllowNonFinite in code) to load them anyway.");
        FileHashes.Of(_temp.File("bad")).Where(f => f.Key != ".ilgpuvit.lock").Should().Equal(before, "a refused resume writes nothing but its (empty) lock");
        (code, _, error) = Train("--resume", bad, "--json", "--allow-nonfinite");
        code.Should().Be(1);
        error.Should().Contain("holds non-finite values, loaded as --allow-nonfinite asks: ")
            .And.Contain("error: Training diverged at step 4").And.Contain("the weights were already non-finite before step 4")
            .And.NotContain("Try a lower learning rate");
        TrainingCheckpoint.ReadInfo(bad).Step.Should().Be(3, "the checkpoint was not overwritten by the diverged step");
    }

    [SkippableFact]
    public void Io_failures_are_one_line_naming_the_path_and_the_cause()
    {
        TrainingRuns.RequireFashionMnist();
        string file = _temp.File("a-file");
        File.WriteAllText(file, "x");
        var (code, _, error) = Train([.. Small, "--out", file]);
        code.Should().Be(1);
        OneLine(error).Should().Be($"error: {file} is a file, not a folder: give a folder for the run.");
        (code, _, error) = Train("--resume", _temp.Path);
        code.Should().Be(1);
        OneLine(error).Should().Be($"error: {_temp.Path} is a folder, not a file: give the checkpoint, e.g. {Path.Combine(_temp.Path, "checkpoint.safetensors")}.");
        (code, _, error) = PretrainedFixtures.Invoke(EvalCommand.Create(), "eval", "--checkpoint", _temp.Path);
        code.Should().Be(1);
        OneLine(error).Should().Be($"error: {_temp.Path}: is a folder, not a file: give the safetensors file in it.");
        (code, _, error) = Train("--resume", _temp.File("missing.safetensors"));
        code.Should().Be(1);
        OneLine(error).Should().Contain(_temp.File("missing.safetensors"));
        File.ReadAllText(file).Should().Be("x");
    }

    [SkippableFact]
    public void A_read_only_folder_is_one_line()
    {
        TrainingRuns.RequireFashionMnist();
        using var disk = Tmpfs.Mount(kib: 1024, readOnly: true);
        string run = Path.Combine(disk.Path, "run");
        var (code, _, error) = Train([.. Small, "--epochs", "2", "--out", run]);
        code.Should().Be(1);
        OneLine(error).Should().Be($"error: {run}: the file system is read-only");
    }

    [SkippableFact]
    public void A_full_disk_stops_the_run_with_one_line_and_the_last_good_checkpoint_intact()
    {
        TrainingRuns.RequireFashionMnist();
        // Room for the first checkpoint (3.7 MB) and the logs, not for the second beside it (the atomic write needs both).
        using var disk = Tmpfs.Mount(kib: 6 * 1024);
        string run = Path.Combine(disk.Path, "run");
        var (code, _, error) = Train([.. Small, "--epochs", "2", "--out", run]);
        code.Should().Be(1);
        OneLine(error).Should().MatchRegex($@"^error: {System.Text.RegularExpressions.Regex.Escape(run)}/\.checkpoint\.safetensors\.tmp-[0-9a-f]{{32}}: no space left on the device$");
        TrainingCheckpoint.ReadInfo(Path.Combine(run, "checkpoint.safetensors")).Step.Should().Be(5, "the epoch-1 checkpoint survives the failed epoch-2 write");
        Directory.EnumerateFiles(run, "*.tmp-*").Should().BeEmpty("the failed write removed its temporary file");
    }

    [Theory]
    [InlineData("--train-limit", "-5", "--train-limit must be at least 1, got -5.")]
    [InlineData("--test-limit", "-1", "--test-limit must be at least 1, got -1.")]
    [InlineData("--test-limit", "0", "--test-limit must be at least 1, got 0.")]
    [InlineData("--checkpoint-every", "0", "--checkpoint-every must be at least 1, got 0.")]
    [InlineData("--batch-size", "0", "Training options: batch size must be at least 1, got 0.")]
    [InlineData("--epochs", "-2", "Training options: epochs must be at least 1, got -2.")]
    public void Bad_numbers_are_refused_before_anything_runs(string flag, string value, string message)
    {
        string run = _temp.File("run");
        var (code, _, error) = Train("--out", run, flag, value);
        code.Should().Be(1);
        OneLine(error).Should().Be("error: " + message);
        Directory.Exists(run).Should().BeFalse("nothing was created");
    }
}
